"""Jupyter kernels for grading and tests: one environment, and a client that never oversleeps.

`SlicedKernelManager` gives nbclient (and so nbgrader's Execute) a client whose
get_msg() polls in 0.1 s slices. zmq.asyncio's poll here sometimes misses the
wakeup for a message that has already arrived and sees it only when its timeout
ends, so a run sat out a whole cell timeout after an explorer cell, then passed
(cf. jupyter/nbclient#312). A fresh poll sees the message at once.
"""
import os
import time
from queue import Empty

from jupyter_client.asynchronous.client import AsyncKernelClient
from jupyter_client.channels import AsyncZMQSocketChannel
from jupyter_client.manager import AsyncKernelManager
from traitlets import Type, default


def kernel_env(base=None):
    """The environment of a grading kernel (nbgrader's too, via nbgrader_plugins.CourseExecute)."""
    env = dict(os.environ if base is None else base)
    env["LSTM_COURSE_NO_FIGURES"] = "1"  # lessons skip drawing figures when graded
    return env


class SlicedChannel(AsyncZMQSocketChannel):
    async def get_msg(self, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = 0.1 if deadline is None else min(0.1, max(0.0, deadline - time.monotonic()))
            if await self.socket.poll(int(left * 1000)):
                return await self._recv()
            if deadline is not None and time.monotonic() >= deadline:
                raise Empty


class SlicedClient(AsyncKernelClient):
    shell_channel_class = Type(SlicedChannel)
    iopub_channel_class = Type(SlicedChannel)


class SlicedKernelManager(AsyncKernelManager):
    @default("client_factory")
    def _client_factory_default(self):  # same name as the base's, so this one wins
        return SlicedClient
