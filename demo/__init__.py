"""The Gradio app: a Predict tab (draw or upload, live predictions) and a Train tab (Adam with a
chosen batch size, streamed loss curve and sample grid). The only package that imports gradio."""

from demo.layout import build_demo

__all__ = ["build_demo"]
