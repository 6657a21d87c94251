"""Tiny models are built once per session; each test gets the folder and the HF reference.

TOOLSMITH_TEST_DEVICE (fixtures.DEVICE, default "cpu") picks the device of the engines the
tests build and of the HF reference models they compare with; on CUDA, float32 matmuls
run without TF32 so that both sides compute in true float32.
"""

import pytest
import tiny_models
import torch
from fixtures import DEVICE

if DEVICE != "cpu":
    if torch.device(DEVICE).type == "cuda" and not torch.cuda.is_available():
        raise pytest.UsageError(f"TOOLSMITH_TEST_DEVICE={DEVICE} but torch.cuda.is_available() is False")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False


def pytest_report_header(config):
    if DEVICE == "cpu":
        return None
    where = torch.device(DEVICE)
    name = torch.cuda.get_device_name(where) if where.type == "cuda" else DEVICE
    return f"engine tests on TOOLSMITH_TEST_DEVICE={DEVICE}: {name}, torch {torch.__version__}, CUDA {torch.version.cuda}"


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """tiny_model(variant) -> (folder, hf_model on DEVICE); cached for the session."""
    built = {}

    def get(variant: str = "llama-tied"):
        if variant not in built:
            folder = tmp_path_factory.mktemp(variant)
            built[variant] = (folder, tiny_models.build(folder, variant).to(DEVICE))
        return built[variant]

    return get
