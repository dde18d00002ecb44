"""The demo's feedback: a few hundred items across the example journey, loaded by `seam demo`."""
