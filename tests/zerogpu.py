"""A stand-in for Hugging Face ZeroGPU's `spaces.GPU`, doing to a generator what the real wrapper
(spaces 0.51, spaces/zero/wrappers.py::generator_function_wrapper) does: it works out the requested
duration from the call's arguments, pickles the arguments into a forked worker process, runs the
generator there, pickles every yielded value back, and when the caller closes its generator it sets a
stop flag that the worker checks after each yield (then closes the task's generator: nothing it would
yield after that arrives). Used as a fake `spaces` module: `sys.modules["spaces"] = EmulatedSpaces()`."""

from __future__ import annotations

import multiprocessing
import pickle
import queue
import traceback
from functools import partial


def _worker(task, payload: bytes, results, stop) -> None:
    args, kwargs = pickle.loads(payload)
    try:
        gen = task(*args, **kwargs)
        for value in gen:
            if stop.is_set():
                gen.close()
                break
            results.put(("ok", pickle.dumps(value)))
    except Exception:  # the real wrapper sends the traceback back as an ExceptionResult
        results.put(("error", traceback.format_exc()))
    results.put(("end", None))
    if stop.is_set():
        results.cancel_join_thread()  # the caller stopped reading: do not wait to hand over the rest
    else:
        results.close()
        results.join_thread()  # everything put is handed over before the process ends


class EmulatedSpaces:
    """The parts of the `spaces` module the app uses; records every call's requested duration and worker."""

    def __init__(self):
        self.requested: list[float] = []  # seconds asked for, per call
        self.workers: list = []  # the forked processes, per call
        self.ctx = multiprocessing.get_context("fork")

    def GPU(self, task=None, *, duration=None, size=None):  # noqa: N802 (the real name)
        if task is None:
            return partial(self.GPU, duration=duration, size=size)

        def gradio_handler(*args, **kwargs):
            seconds = duration(*args, **kwargs) if callable(duration) else duration
            self.requested.append(seconds)
            payload = pickle.dumps((args, kwargs))  # fails on locks, events, open files: as on ZeroGPU
            results, stop = self.ctx.Queue(), self.ctx.Event()
            worker = self.ctx.Process(target=_worker, args=(task, payload, results, stop), daemon=True)
            worker.start()
            self.workers.append(worker)
            while True:
                try:
                    kind, value = results.get(timeout=1)
                except queue.Empty:
                    if worker.is_alive():
                        continue
                    # as spaces' sentinel thread does when the worker dies: "ZeroGPU worker error: GPU task aborted"
                    raise RuntimeError(f"ZeroGPU worker error: GPU task aborted (exit code {worker.exitcode})")
                if kind == "end":
                    break
                if kind == "error":
                    raise RuntimeError(f"ZeroGPU worker error\n{value}")
                try:
                    yield pickle.loads(value)
                except GeneratorExit:
                    stop.set()
                    raise

        return gradio_handler
