"""Entry point: `python app.py` (and Hugging Face Spaces) serves the Fashion-MNIST demo."""

from demo import build_demo
from demo.serving import launch_kwargs

demo = build_demo()

if __name__ == "__main__":
    demo.launch(**launch_kwargs())
