"""One torch thread for the in-process driving tests: their small detectors run many times slower with two threads
on a busy 2-core machine, where each multi-threaded op waits for a free core (the recipes set trainer.threads=1)."""

import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
