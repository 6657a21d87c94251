"""The isolation layer that runs untrusted tools (see docs/sandbox.md).

Self-contained: nothing here imports ``toolsmith.core``. Callers pass in what the
sandbox needs (the policy, the folder that holds the runs) and catch
``errors.SandboxError``. Import the submodule you need (``launcher`` to execute,
``run_store`` for previewed runs): each loads only what it uses.
"""
