"""The demo shop: a seeded synthetic e-commerce dataset with known ground truth.

    from yunying.demo import DemoConfig, generate_demo, write_demo_parquet
    data = generate_demo(DemoConfig(users=2_000, seed=7))
    data.events   # pyarrow Table in schema.CANONICAL_EVENT form (UTC, microseconds)
    data.truth    # ground truth: DAU per day, funnel counts, retention, model parameters
    write_demo_parquet("events_10m.parquet", events=10_000_000, seed=42)

Model and parameters: ``model.py``; the simulation: ``generator.py``; docs/demo.md.
"""

from yunying.demo.build import (
    DEMO_PROJECT,
    BuildResult,
    DemoData,
    DemoMismatchError,
    build_demo_store,
    demo_config,
    generate_demo,
    read_truth,
    truth_path,
    write_demo_parquet,
)
from yunying.demo.model import DemoConfig, DemoModel

__all__ = [
    "DEMO_PROJECT", "BuildResult", "DemoConfig", "DemoData", "DemoMismatchError", "DemoModel",
    "build_demo_store", "demo_config", "generate_demo", "read_truth", "truth_path",
    "write_demo_parquet",
]
