"""Batched two-layer ReLU networks and their full-batch AdamW trainer (PyTorch).

The S trials of a grid cell train together as one batched model (on a CPU, in
chunks sized to the cache; see trials_per_chunk): every parameter has a leading
trial axis S and the products are batched (torch.bmm). The loss is
the sum of the trials' losses and no parameter is shared between trials, so each
trial's gradient is exactly its own, and AdamW, acting elementwise, takes for
each trial the step it would take alone.

Shapes: X (S, n, d), y (S, n); skip parameters w0 (S, d), a0 (S,), W (S, d, m),
a (S, m); norm parameters W (S, d, m), a (S, m), gamma (S, m). docs/math.md
section 7 gives the settings.
"""

import math

import numpy as np
import torch

# --device and --verbose are left out of a run's identity: a run made on a GPU is reused
# as complete on the CPU (float32 on CUDA differs from CPU runs in the last digits).
RUN_FLAGS = ("device", "verbose")

def uniform(generators, shape, bound, dtype):
    """One U(-bound, bound) tensor of `shape` per trial generator, stacked on axis 0."""
    return torch.stack([(torch.rand(shape, generator=g, dtype=dtype) * 2 - 1) * bound for g in generators])


def init_skip(generators, d, width, dtype=torch.float32):
    """PyTorch's default (Kaiming-uniform) initialisation U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    of the authors' layers: w0 and the ReLU weights W are d -> 1 and d -> width layers
    (fan_in d); the skip neuron's output weight a0 is a 1 x 1 layer (fan_in 1, so
    U(-1, 1)); the ReLU output weights a are a width -> 1 layer (fan_in width)."""
    return {
        "w0": uniform(generators, (d,), 1 / math.sqrt(d), dtype),
        "W": uniform(generators, (d, width), 1 / math.sqrt(d), dtype),
        "a0": uniform(generators, (), 1.0, dtype),
        "a": uniform(generators, (width,), 1 / math.sqrt(width), dtype),
    }


def skip_forward(params, X):
    """f(X) = a0 (X w0) + sum_j a_j (X w_j)_+, batched over trials: (S, n)."""
    # vecdot, not a batched matrix-vector bmm: torch's CPU bmm with one column took 4-5x longer
    linear = torch.linalg.vecdot(X, params["w0"][:, None, :]) * params["a0"][:, None]
    hidden = torch.relu(torch.bmm(X, params["W"]))
    return linear + torch.linalg.vecdot(hidden, params["a"][:, None, :])


def init_norm(generators, d, width, dtype=torch.float32):
    """Default initialisation for both layers; the normalisation scales gamma start at 1
    (as a normalisation layer's weight does in PyTorch)."""
    return {
        "W": uniform(generators, (d, width), 1 / math.sqrt(d), dtype),
        "a": uniform(generators, (width,), 1 / math.sqrt(width), dtype),
        "gamma": torch.ones((len(generators), width), dtype=dtype),
    }


def norm_forward(params, X, eps=1e-12):
    """f(X) = sum_j a_j gamma_j (X w_j)_+ / ||(X w_j)_+||, the norm taken over the samples: (S, n).

    The norm is taken as sqrt(||h_j||^2 + eps^2), so a neuron dead on every sample
    contributes 0 with finite (zero) gradients. It divides the output weights, not
    the (S, n, m) activations: the same function, with fewer passes over the
    activations forward and backward."""
    hidden = torch.relu(torch.bmm(X, params["W"]))
    norms = (hidden.square().sum(dim=1) + eps**2).sqrt()  # (S, m); on CPU faster than vector_norm over dim 1
    return torch.linalg.vecdot(hidden, (params["a"] * params["gamma"] / norms)[:, None, :])


NETWORKS = {"skip": (init_skip, skip_forward), "norm": (init_norm, norm_forward)}


def squared_errors(prediction, y):
    """||f(X) - y||^2 per trial (sum over samples, not mean): (S,)."""
    return ((prediction - y) ** 2).sum(dim=1)


def train(forward, params, X, y, X_test=None, y_test=None, epochs=400, lr=2e-3, beta=1e-6,
          reset_optimizer=False):
    """Full-batch AdamW on sum_s ||f_s(X_s) - y_s||^2 with weight decay beta.

    One optimizer for the whole run (AdamW's fused kernel, one per parameter).
    reset_optimizer=True rebuilds it at every step, as the authors' code did,
    which throws away Adam's moment estimates. Returns the trained parameters and
    the (S, epochs) train loss curve and, when test data is given, test loss curve
    (None otherwise), each loss recorded before its step.
    """
    params = {name: value.clone().requires_grad_(True) for name, value in params.items()}
    make = lambda: torch.optim.AdamW(params.values(), lr=lr, weight_decay=beta, fused=True)  # noqa: E731
    optimizer = make()
    train_curve = torch.empty((X.shape[0], epochs), dtype=X.dtype, device=X.device)
    test_curve = None if X_test is None else torch.empty_like(train_curve)
    for epoch in range(epochs):
        if reset_optimizer:
            optimizer = make()
        optimizer.zero_grad()
        losses = squared_errors(forward(params, X), y)
        losses.sum().backward()
        optimizer.step()
        train_curve[:, epoch] = losses.detach()
        if test_curve is not None:
            with torch.no_grad():
                test_curve[:, epoch] = squared_errors(forward(params, X_test), y_test)
    return {name: value.detach() for name, value in params.items()}, train_curve, test_curve


def train_in_chunks(forward, params, X, y, X_test=None, y_test=None, chunk=None, **settings):
    """train() on consecutive chunks of `chunk` trials (all at once by default); the
    parameters and curves are concatenated back along the trial axis."""
    chunk = chunk or X.shape[0]
    parts = [slice(start, start + chunk) for start in range(0, X.shape[0], chunk)]
    pieces = [train(forward, {name: value[part] for name, value in params.items()}, X[part], y[part],
                    None if X_test is None else X_test[part], None if y_test is None else y_test[part], **settings)
              for part in parts]
    trained = {name: torch.cat([piece[0][name] for piece in pieces]) for name in params}
    train_curve = torch.cat([piece[1] for piece in pieces])
    test_curve = None if X_test is None else torch.cat([piece[2] for piece in pieces])
    return trained, train_curve, test_curve


# --------------------------------------------------------------------------- command line


def add_training_flags(parser):
    """The nonconvex-training flags on top of runner.make_parser(beta=True)."""
    parser.add_argument("--epochs", type=int, default=400, help="full-batch AdamW steps")
    parser.add_argument("--lr", type=float, default=2e-3, help="AdamW learning rate")
    parser.add_argument("--width", type=int, default=None, help="hidden neurons (default: n + 1)")
    parser.add_argument("--device", default="cpu", help="cpu, or cuda when present")
    parser.add_argument("--verbose", action="store_true", help="print each cell's final losses")
    parser.add_argument("--reset_optimizer", action="store_true",
                        help="rebuild AdamW at every step (the authors' code; loses the moments)")
    return parser


def validate_training(parser, args):
    """Check the training flags before any work; one line naming the flag."""
    if args.epochs < 1:
        parser.error(f"--epochs must be at least 1; got {args.epochs}")
    if not math.isfinite(args.lr) or args.lr <= 0:
        parser.error(f"--lr must be a finite number > 0; got {args.lr}")
    if args.width is not None and args.width < 1:
        parser.error(f"--width must be at least 1; got {args.width}")
    if args.device not in ("cpu", "cuda"):
        parser.error(f"--device must be cpu or cuda; got {args.device!r}")
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA device is available (use --device cpu)")
    return args


def trial_generators(rngs):
    """One torch.Generator per trial, seeded from the trial's numpy generator."""
    return [torch.Generator().manual_seed(int(rng.integers(2**63))) for rng in rngs]


def fit_cell(network, rngs, data, X_test, y_test, args):
    """Train one cell's trials as batched models, in chunks of trials_per_chunk on a CPU.

    data: per trial (X (n, d), y (n,)); X_test, y_test likewise. Returns one dict
    per trial, as numpy arrays: the trained parameters by name, the test
    prediction, and the train and test loss curves (epochs,); the curves are
    recorded only with --save_details (else test_loss is None).
    """
    torch.set_num_threads(1)  # parallelism comes from --jobs; keeps results independent of it
    init, forward = NETWORKS[network]
    device, dtype = torch.device(args.device), torch.float32
    as_tensor = lambda arrays: torch.tensor(np.array(list(arrays)), dtype=dtype, device=device)  # noqa: E731
    X, y = as_tensor(x for x, _ in data), as_tensor(t for _, t in data)
    X_test, y_test = as_tensor(X_test), as_tensor(y_test)
    d, width = X.shape[2], args.width or X.shape[1] + 1
    initial = {k: v.to(device) for k, v in init(trial_generators(rngs), d, width, dtype).items()}
    curves = (X_test, y_test) if args.save_details else (None, None)
    chunk = trials_per_chunk(X.shape[1], width) if device.type == "cpu" else None
    params, train_curve, test_curve = train_in_chunks(forward, initial, X, y, *curves, chunk=chunk,
                                                      epochs=args.epochs, lr=args.lr, beta=args.beta,
                                                      reset_optimizer=args.reset_optimizer)
    with torch.no_grad():
        per_trial = dict(params, prediction=forward(params, X_test), train_loss=train_curve, test_loss=test_curve)
    return [{name: None if value is None else value[s].detach().cpu().double().numpy()
             for name, value in per_trial.items()} for s in range(len(data))]


def trials_per_chunk(n, width, activations=2**19):
    """How many trials to batch on a CPU: as many as keep one (S, n, width) float32
    activation tensor within `activations` entries (2 MiB), at least one.

    Small cells gain from batching (per-step overhead paid once); in large cells the
    batched activations overflow the core's cache, and whole-cell batches of 10 ran
    1.2-1.4x slower than chunks of 2-3 at n = 400, d = 100 (skip and norm, 2-core CPU). Trials are
    independent, so the chunk changes a trial's result only by float rounding, and
    it depends on the cell alone, never on --jobs."""
    return max(1, activations // (n * width))


def report(n, d, results):
    """--verbose: one line per cell with the final training losses and test distances."""
    losses = [r.details["train_loss"][-1] for r in results]
    distances = [r.metrics["dis_test"] for r in results]
    print(f"n={n} d={d}: final train loss {np.round(losses, 5)}, dis_test {np.round(distances, 4)}", flush=True)
