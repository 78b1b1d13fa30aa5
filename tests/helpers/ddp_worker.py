"""Launched by tests/test_distributed.py under torchrun: train a tiny run, then save this rank's weights.

Every rank saves what it holds after training, so the test can check that DDP kept the ranks identical.
"""

import os
import sys

import torch

import ganzoo

weights_dir, loss = sys.argv[1], sys.argv[2]
if loss == "conditional":  # a conditional mix with a lazy regulariser, whose own step averages gradients by hand
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from helpers import labelled

    from ganzoo.registry.registry import default_registry

    default_registry().register(labelled, name="labelled")
    result = ganzoo.train(
        "cgan", "projection", "hinge", "blobs", regularisers=[{"name": "r1", "every": 2}, "lecam"], steps=8,
        batch_size=16,
        d_steps=2, log_every=4, sample_every=4, checkpoint_every=4, device="cpu",
        set=["dataset.n=256", "generator.hidden=16,16", "discriminator.hidden=16"],
    )
else:
    result = ganzoo.train(
        "mlp", "mlp", loss, "parabola", steps=8, batch_size=16, d_steps=2, log_every=4, sample_every=4,
        checkpoint_every=4, device="cpu",
        set=["dataset.n=256", "generator.hidden=16,16", "generator.batchnorm=true", "discriminator.hidden=16"],
    )
rank = int(os.environ["RANK"])
torch.save({"generator": result.generator.state_dict(), "discriminator": result.discriminator.state_dict(),
            "run_dir": str(result.run_dir), "step": result.step, "plugins": result.plugin_states},
           os.path.join(weights_dir, f"rank{rank}.pt"))
