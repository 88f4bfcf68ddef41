"""The mathematics shared by the scripts: data, planted models and metrics. The
arrangement patterns are in arrangement.py, the trial bodies several scripts share in
trials.py, the command line and the grid runner in runner.py.

Shapes: X is (n, d) with rows as samples; w is (d,); patterns is an (n, m) 0/1
matrix whose column i is the diagonal of D_i. The formulas are written out in
docs/math.md, sections 1, 6 and 8.
"""

import numpy as np

import arrangement
import programs

RECOVERY_ATOL = 1e-4


# --------------------------------------------------------------------------- data


def whiten(X):
    """Orthonormal factor of the thin SVD X = U S V^T: U (n, d) when n >= d, V^T (n, d) when n < d."""
    U, _, Vt = np.linalg.svd(X, full_matrices=False)
    return U if X.shape[0] >= X.shape[1] else Vt


def sample_data(rng, n, d, optx):
    """Data matrix (n, d) with i.i.d. N(0, 1/n) entries, transformed by --optx.

    0 Gaussian; 1 cubic Gaussian (elementwise cube); 2 Haar (whitened Gaussian);
    3 whitened cubic Gaussian (the reference code never whitened this one).
    """
    X = rng.standard_normal((n, d)) / np.sqrt(n)
    if optx in (1, 3):
        X = X**3
    if optx in (2, 3):
        X = whiten(X)
    return X


def planted_linear(rng, X, optw):
    """Unit-norm planted linear neuron w (d,).

    0: w ~ N(0, I_d) normalised; 1: the right singular vector of X for its smallest
    singular value of the thin SVD, as the reference code takes it: when n < d, the
    smallest non-zero one (a full SVD would give a null vector of X, hence y = 0).
    """
    if optw == 0:
        w = rng.standard_normal(X.shape[1])
        return w / np.linalg.norm(w)
    return np.linalg.svd(X, full_matrices=False)[2][-1]


def label_noise(rng, n, sigma):
    """z = sigma * N(0, I_n) / sqrt(n)."""
    return sigma * rng.standard_normal(n) / np.sqrt(n)


# --------------------------------------------------------------------------- metrics


def relu(z):
    return np.maximum(z, 0.0)


def skip_network_output(X, w0, W=None, U=None, V=None):
    """The learned skip network on data X (n,): X w0 + sum_i (X w_i)_+, or for the
    exact forms X w0 + sum_i (X u_i)_+ - (X v_i)_+ (W, U, V are (d, m))."""
    output = X @ w0
    if W is not None:
        output = output + relu(X @ W).sum(axis=1)
    if U is not None:
        output = output + relu(X @ U).sum(axis=1) - relu(X @ V).sum(axis=1)
    return output


def skip_recovered(w0, W, w):
    """Reference recovery test: w0 equals the planted w and every other block is 0 (atol 1e-4)."""
    return bool(np.allclose(w0, w, atol=RECOVERY_ATOL) and np.allclose(W, 0, atol=RECOVERY_ATOL))


def linear_planted_data(rng, n, d, *, optx, optw, sigma):
    """X (data model optx), planted linear w (optw) and labels y = X w + z (noise level
    sigma), drawn in that order."""
    X = sample_data(rng, n, d, optx)
    w = planted_linear(rng, X, optw)
    return X, w, X @ w + label_noise(rng, n, sigma)


def skip_instance(rng, n, d, *, optx, optw, sigma):
    """One skip-connection trial's data: X, planted linear w, labels y = X w + z, patterns.

    The draws happen in a fixed order (X, w, noise, patterns) so that a trial is a
    function of its generator alone.
    """
    X, w, y = linear_planted_data(rng, n, d, optx=optx, optw=optw, sigma=sigma)
    patterns, exist_all_one = arrangement.sampled_patterns(X, rng)
    return {"X": X, "w": w, "y": y, "dmat": patterns, "exist_all_one": exist_all_one}


def skip_distances(instance, X_test, primal):
    """dis_abs = ||w0 - w|| and dis_test = ||f(X_test) - X_test w|| of a solved skip program."""
    w = instance["w"]
    weights = {name: primal[name] for name in ("W", "U", "V") if name in primal}
    prediction = skip_network_output(X_test, primal["w0"], **weights)
    return {
        "dis_abs": float(np.linalg.norm(primal["w0"] - w)),
        "dis_test": float(np.linalg.norm(prediction - X_test @ w)),
    }


# --------------------------------------------------------------------------- normalisation layer

MAX_REDRAWS = 100
# NNIC-k is a strict inequality; a block whose span contains a planted activation has
# correlation exactly 1, which rounding can put just below 1, so demand a margin.
NIC_MARGIN = 1e-6
# a uniqueness margin below this, with the planted model optimal (its value within
# NEAR_TIE_GAP of the optimum, relative: ten times the solver's gap tolerance), is a
# near-tie: the solver's accuracy decides the entries
NEAR_TIE_MARGIN = 1e-7
NEAR_TIE_GAP = 1e-6
# one neuron: y lies in another block's range (a tie) when its distance to it is rounding
# (~1e-15); a genuine separation is ~|x_k^T w| / ||(Xw)_+|| for the row nearest w's
# hyperplane, 1e-6 to 1e-3 at n <= 400, and below 1e-9 with probability ~n * 1e-9
SEPARATION_TOL = 1e-9
# What the sidecars record of the acceptance of a trial: the recovery tolerance, the
# structured solver's certificate tolerances and the checks of a CVXPY solution.
TOLERANCES = {"recovery_atol": RECOVERY_ATOL, "structured_solver": programs.STRUCTURED_TOLERANCES,
              "cvxpy_checks": programs.CHECK_TOL}


def planted_relu_neurons(rng, d, neu, optw):
    """Unit-norm planted ReLU neurons as the columns of a (d, neu) matrix.

    0: Gaussian directions; 1: w_j = e_j; 2 (neu = 2 only): w_2 = -w_1, whose
    activation regions do not intersect.
    """
    if optw == 1:
        return np.eye(d)[:, :neu]
    if optw == 2:
        w = rng.standard_normal(d)
        w /= np.linalg.norm(w)
        return np.column_stack([w, -w])
    W = rng.standard_normal((d, neu))
    return W / np.linalg.norm(W, axis=0)


def normalised_relu_sum(X, planted):
    """y = sum_j (X w_j)_+ / ||(X w_j)_+|| for the columns w_j of planted (d, k)."""
    activations = relu(X @ planted)
    return (activations / np.linalg.norm(activations, axis=0)).sum(axis=1)


def norm_planted_data(rng, n, d, *, optx, optw, sigma, neu):
    """X, neu planted neurons (d, k) and labels y = sum_j (X w_j)_+/||(X w_j)_+|| + z.

    X and the neurons are redrawn while some (X w_j)_+ is the zero vector.
    """
    for _ in range(MAX_REDRAWS):
        X = sample_data(rng, n, d, optx)
        planted = planted_relu_neurons(rng, d, neu, optw)
        if relu(X @ planted).any(axis=0).all():
            return X, planted, normalised_relu_sum(X, planted) + label_noise(rng, n, sigma)
    raise RuntimeError(f"no data with every planted neuron active after {MAX_REDRAWS} draws (n={n}, d={d})")


def norm_test_data(rng, n, d, planted, *, optx):
    """Fresh test data for the planted neurons, noiseless labels (redrawn while a neuron is dead)."""
    for _ in range(MAX_REDRAWS):
        X_test = sample_data(rng, n, d, optx)
        if relu(X_test @ planted).any(axis=0).all():
            return X_test, normalised_relu_sum(X_test, planted)
    raise RuntimeError(f"no test data with every planted neuron active after {MAX_REDRAWS} draws")


def norm_instance(rng, n, d, *, optx, optw, sigma, neu, num_directions=None, pattern_kind="sampled"):
    """One normalisation-layer trial: X, planted neurons (d, k), labels, patterns (the
    set pattern_kind of arrangement.SETS), the planted neurons' pattern columns and the
    whitened blocks.

    The planted directions go first among the sampled ones, so their patterns are
    in the set; planted_columns[j] is the column of neuron j's pattern.
    """
    X, planted, y = norm_planted_data(rng, n, d, optx=optx, optw=optw, sigma=sigma, neu=neu)
    patterns, exist_all_one = arrangement.pattern_set(X, rng, pattern_kind, planted, num_directions)
    planted_patterns = (X @ planted >= 0).astype(float)
    planted_columns = [int(np.flatnonzero((patterns == column[:, None]).all(axis=0))[0])
                       for column in planted_patterns.T]
    blocks = programs.whitened_blocks(X, patterns)
    return {"X": X, "w": planted, "y": y, "dmat": patterns, "exist_all_one": exist_all_one,
            "planted_columns": planted_columns, "blocks": blocks}


def value_gap(W, planted_W):
    """(sum_i ||planted_i|| - sum_i ||W_i||) / sum_i ||planted_i||: how far the optimum W of
    (14) lies below the planted model's value; ~0 (solver accuracy) when the planted
    model is optimal, > 0 when another model fits y with less norm."""
    planted_value = np.linalg.norm(planted_W, axis=0).sum()
    return float((planted_value - np.linalg.norm(W, axis=0).sum()) / planted_value)


def near_ties(margin, gap):
    """Trials whose planted model is optimal (value gap below NEAR_TIE_GAP) with a
    uniqueness margin delta (programs.dual_margin) below NEAR_TIE_MARGIN: another block
    carries (nearly) the same fit, so whether the solution's entries match the planted
    model is the solver's choice. A failure proper has a value gap; a certified recovery
    a margin. Arrays of equal shape; NaN (failed solves) is no near-tie."""
    margin, gap = np.nan_to_num(margin, nan=np.inf), np.nan_to_num(gap, nan=np.inf)
    return (np.abs(margin) < NEAR_TIE_MARGIN) & (np.abs(gap) < NEAR_TIE_GAP)


def one_neuron_separation(instance):
    """min_i ||y - U_i U_i^T y|| over the blocks i other than the planted neuron's: the
    distance from the unit label vector y to the nearest other block's range.

    One planted neuron only. (14)'s optimal value is ||y|| = 1, attained by the planted
    model, and every optimum lives on the blocks whose range contains y (docs/math.md,
    section 8), so the planted model is the unique optimum iff this distance is positive
    (above SEPARATION_TOL): a certificate of recovery that needs no solve. lambda = y is
    then a dual certificate, and its margin 1 - ||U_i^T y|| = 1 - sqrt(1 - dist^2) is
    about dist^2 / 2: the solver's margin is the square of this distance, so a genuine
    recovery with dist ~1e-4 has a margin ~1e-8, below what an interior-point solution
    resolves (a near-tie, common.near_ties), while this distance still decides it."""
    (planted,) = set(instance["planted_columns"])
    y = instance["y"] / np.linalg.norm(instance["y"])
    distances = [np.linalg.norm(y - U @ (U.T @ y)) for i, (U, _, _) in enumerate(instance["blocks"]) if i != planted]
    return float(min(distances, default=np.inf))


def one_neuron_recovery_probability(n, d):
    """P(Bin(n, 1/2) >= d): the probability that (14) over the whole arrangement recovers
    one planted normalised neuron from n Gaussian points in R^d (docs/math.md, section 8):
    it does iff its pattern D_w has at least d rows, and |D_w| ~ Bin(n, 1/2). It is 1/2
    near n = 2d. Broadcasts over arrays."""
    from scipy.stats import binom

    return binom.sf(np.asarray(d) - 1, np.asarray(n), 0.5)


def norm_targets(blocks, planted_columns, planted):
    """t_k = S_k V_k^T w_j / ||S_k V_k^T w_j|| for neuron j with pattern column k,
    so that U_k t_k = (X w_j)_+ / ||(X w_j)_+||. Returns a list of (r_k,) vectors."""
    targets = []
    for k, w in zip(planted_columns, planted.T):
        _, S, V = blocks[k]
        coefficients = S * (V.T @ w)
        targets.append(coefficients / np.linalg.norm(coefficients))
    return targets


def planted_solution(blocks, planted_columns, targets, d):
    """The (d, m) program variable of the planted model: t_k on planted columns
    (zero-padded to d), 0 elsewhere. Neurons sharing a pattern add up."""
    W = np.zeros((d, len(blocks)))
    for k, t in zip(planted_columns, targets):
        W[: len(t), k] += t
    return W


def norm_recovered(W, planted_W):
    """Recovery: the solution equals the planted variable everywhere, atol 1e-4."""
    return bool(np.allclose(W, planted_W, atol=RECOVERY_ATOL))


def norm_dis_abs(W, planted_W, planted_columns):
    """dis_abs = sqrt(sum_j ||W[:, k_j] - t_{k_j}||^2) over the planted columns (reference)."""
    columns = sorted(set(planted_columns))
    return float(np.linalg.norm(W[:, columns] - planted_W[:, columns]))


def nnic_holds(blocks, planted_columns, targets):
    """Neural isometry condition NNIC-k (Fig. 10).

    With U_P the planted blocks side by side and t the stacked targets,
    lambda = U_P (U_P^T U_P)^+ t; the condition holds when ||U_i^T lambda|| < 1 for
    every non-planted pattern i. lambda is a dual certificate of (14) only if it
    also meets U_P^T lambda = t, which fails when U_P loses column rank (several
    neurons, small n), so that is required too. Returns (holds, lambda).

    The pseudo-inverse of the symmetric Gram U_P^T U_P comes from its eigendecomposition
    (same cutoff, 1e-15 of the largest eigenvalue): LAPACK's SVD (gesdd) failed to
    converge on one rank-deficient Gram (3 neurons, n = 240 = 3d) of Figure 11's run.
    """
    columns = sorted(set(planted_columns))  # neurons sharing a pattern share its block
    U_planted = np.hstack([blocks[k][0] for k in columns])
    planted_W = planted_solution(blocks, planted_columns, targets, blocks[0][2].shape[0])
    t = np.concatenate([planted_W[: blocks[k][0].shape[1], k] for k in columns])
    lam = U_planted @ np.linalg.pinv(U_planted.T @ U_planted, hermitian=True) @ t
    interpolates = np.allclose(U_planted.T @ lam, t, atol=1e-8)
    others = [i for i in range(len(blocks)) if i not in columns]
    correlations = [np.linalg.norm(blocks[i][0].T @ lam) for i in others]
    return bool(interpolates and max(correlations, default=0.0) < 1.0 - NIC_MARGIN), lam


def norm_program(instance, equation, beta=1e-6):
    """The normalisation-layer program `equation` ("14", "13", "norm_train") on an instance."""
    return programs.Program(equation, instance["X"], instance["y"], instance["dmat"], beta=beta,
                            blocks=instance["blocks"])


def norm_planted_variable(instance):
    """The planted model as the (d, m) program variable (targets on planted columns)."""
    targets = norm_targets(instance["blocks"], instance["planted_columns"], instance["w"])
    return planted_solution(instance["blocks"], instance["planted_columns"], targets, instance["X"].shape[1])


def learned_variable(primal):
    """W of a relaxed program, or u_i - v_i of an exact one; None for a failed solve."""
    if "W" in primal:
        return primal["W"]
    return primal["U"] - primal["V"] if "U" in primal else None


def norm_details(instance, solution):
    """What --save_details keeps of a norm trial (the whitened blocks are recomputable)."""
    details = {key: value for key, value in instance.items() if key != "blocks"}
    return dict(details, opt_w=learned_variable(solution.primal))


def skip_n_below_d(n, d, args=None):
    """Normalisation-layer cells with n < d are not run (reference); a script's skip_cell."""
    return "n < d" if n < d else None
