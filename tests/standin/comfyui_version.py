"""Stand-in of ComfyUI's generated version module: the host version whose contract the stand-in follows."""

__version__ = "0.33.0"
