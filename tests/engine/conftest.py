"""Tiny models are built once per session; each test gets the folder and the HF reference."""

import pytest
import tiny_models


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """tiny_model(variant) -> (folder, hf_model); cached for the session."""
    built = {}

    def get(variant: str = "llama-tied"):
        if variant not in built:
            folder = tmp_path_factory.mktemp(variant)
            built[variant] = (folder, tiny_models.build(folder, variant))
        return built[variant]

    return get
