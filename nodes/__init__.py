"""ComfyUI glue: the DyPE node, the model families it knows, and the patch it installs."""
