"""course_lib: verified implementations for *Optimization for Training Deep Models*.

The package is arranged in layers; a module imports only from its own layer or the layers
below it (``tests/test_layout.py`` checks this, and that the map below matches the tree).

.. code-block:: text

    grading                     auto-grading helpers for the homework
    viz/                        figures and explorers
    training/ nn/               torch training loop; NumPy layers with backward passes
    distributed/ benchmark/     many workers; comparing optimizers
    optim/ schedules/ averaging what to do with a gradient: rules, rates, averages
    second_order/ objectives/   curvature and line searches; problems to optimize
    arrays numerics result seeding validation   foundations

Module map (one line per module; ``python3 tasks.py layout`` writes it into the README):

* ``arrays`` -- the array operations every rule uses, on NumPy, torch and lists of tensors
* ``numerics`` -- numerically stable softmax and log-sum-exp
* ``result`` -- OptimizeResult (scipy's field names), the one result of every iterative method
* ``seeding`` -- every seed of the book, shifted by ``$COURSE_SEED_OFFSET``
* ``validation`` -- one vocabulary of argument errors
* ``objectives.surfaces`` -- test functions with value, gradient, Hessian and minimizers
* ``objectives.finite_sum`` -- finite sums with minibatch gradients
* ``objectives.data`` -- small real datasets that ship with scikit-learn; the one minibatch shuffle
* ``second_order.result`` -- LineSearchResult and the 0.1 home of OptimizeResult
* ``second_order.directions`` -- the DirectionStrategy protocol of minimize(); steepest descent
* ``second_order.line_search`` -- Armijo backtracking and strong Wolfe line searches
* ``second_order.newton`` -- Newton steps and Hessian modifications
* ``second_order.cg`` -- linear CG and the nonlinear CG formulas
* ``second_order.quasi_newton`` -- BFGS update, the one two-loop recursion, gamma, curvature test
* ``second_order.methods`` -- minimize(): one loop over a direction strategy
* ``second_order.trust_region`` -- dogleg and Steihaug-CG trust-region steps
* ``second_order.curvature`` -- Gauss--Newton, Hessian-free, K-FAC
* ``second_order.coordinate`` -- coordinate descent
* ``optim.rule`` -- Rule, update_rule, apply: a rule as a typed object and the one loop
* ``optim.common`` -- what every rule repeats: weight decay, moving averages, bias correction
* ``optim.validation`` -- torch's hyperparameter checks and messages
* ``optim.base`` -- RuleOptimizer, the bridge from a rule to torch.optim.Optimizer
* ``optim.sgd`` -- SGD with momentum and Nesterov
* ``optim.adagrad`` -- Adagrad
* ``optim.rmsprop`` -- RMSprop
* ``optim.adadelta`` -- Adadelta
* ``optim.adam`` -- Adam, AMSGrad, AdamW
* ``optim.adamax`` -- Adamax
* ``optim.nadam`` -- NAdam
* ``optim.radam`` -- RAdam, the rectified adaptive step
* ``optim.rprop`` -- Rprop, per-coordinate steps from gradient signs
* ``optim.asgd`` -- ASGD, Polyak averaging inside the optimizer
* ``optim.adafactor`` -- Adafactor, the factored second moment
* ``optim.muon`` -- Muon, momentum orthogonalized by Newton--Schulz
* ``optim.lbfgs`` -- L-BFGS as torch.optim.LBFGS, with strong Wolfe line search
* ``optim.lion`` -- Lion, the sign of an interpolated momentum
* ``optim.lars`` -- LARS, layer-wise trust ratio with momentum
* ``optim.lamb`` -- LAMB, Adam's step rescaled by the layer-wise trust ratio
* ``optim.schedule_free`` -- schedule-free SGD and AdamW with the eval()/train() switch
* ``optim.sam`` -- SAM and ASAM: the two-pass step around a base optimizer
* ``optim.shampoo`` -- Shampoo, the Kronecker-factored preconditioner
* ``optim.soap`` -- SOAP, Adam in the eigenbasis of Shampoo's statistics
* ``optim.descent`` -- run a rule on a NumPy objective, get an OptimizeResult
* ``optim.convergence`` -- rates: descent coefficients, PL, heavy ball and Nesterov
* ``schedules.closed_form`` -- learning rate as a closed-form function of the step
* ``schedules.plateau`` -- ReduceLROnPlateau without an optimizer
* ``schedules.torch_bridge`` -- ScheduledLR: any schedule driving a torch optimizer
* ``averaging`` -- Polyak--Ruppert average, EMA, SWA with BatchNorm update
* ``nn.module`` -- Module, Sequential, step, gradient clipping
* ``nn.layers`` -- Linear, activations, Dropout, Residual, weight normalization
* ``nn.normalization`` -- BatchNorm and LayerNorm: one standardization by axis
* ``nn.losses`` -- cross-entropy and squared error with backward passes
* ``nn.init`` -- initializers: Glorot, He, orthogonal, LSUV, Fixup
* ``nn.gradcheck`` -- finite-difference gradient checks
* ``nn.regularization`` -- penalties, label smoothing, noise, ensembles
* ``nn.history`` -- History and Callback, shared by both training loops
* ``nn.loop`` -- fit() and evaluate(): the training loop of the NumPy layers
* ``training.loop`` -- train(), evaluate() for torch models
* ``training.callbacks`` -- early stopping, schedules, plateau and averaging as callbacks
* ``training.early_stopping`` -- EarlyStopping with the best parameters
* ``distributed.launch`` -- worker processes on localhost (gloo), results gathered
* ``distributed.workers`` -- chapter 11's experiments, run inside a process group
* ``distributed.replicas`` -- many small networks at once: batch-size experiments
* ``distributed.costs`` -- cost models: ring all-reduce, noise scale, time to a result
* ``benchmark.workloads`` -- Workload, run_trial and the six small workloads of chapter 12
* ``benchmark.tuning`` -- search spaces, one trial budget, random and grid search, interior check
* ``benchmark.stats`` -- t confidence intervals over seeds, "not distinguishable"
* ``benchmark.profiles`` -- Dolan--Moré performance profiles
* ``benchmark.runner`` -- run_benchmark: tuning and repetitions, resumable JSON lines
* ``benchmark.results`` -- load_results: tables, verdicts, budgets, profiles
* ``benchmark.plots`` -- benchmark figures on the caller's matplotlib axes
* ``benchmark.cli`` -- the command line of the benchmark (python3 tasks.py benchmark)
* ``viz.plotting`` -- contour plots of paths, loss curves, animations
* ``viz.slider`` -- precomputed_slider: kernel-free sliders over precomputed frames
* ``viz.explorer`` -- the momentum explorer: one figure, kernel and kernel-free forms
* ``viz.widgets`` -- 0.1 names of viz.explorer (re-exports)
* ``viz.static_widgets`` -- 0.1 names of viz.slider and viz.explorer (re-exports)
* ``viz.landscape`` -- filter-normalized loss-landscape slices
* ``grading`` -- helpers the auto-graded homework uses
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

__version__ = "0.2.0"

#: The torch release whose ``torch.optim`` the classes of :mod:`course_lib.optim` reproduce.
TORCH_VERSION = "2.13"

#: Modules that moved in 0.2; the old names import the new modules for one release.
MOVED = {
    "finite_sum": "objectives.finite_sum",
    "data": "objectives.data",
    "descent": "optim.descent",
    "convergence": "optim.convergence",
    "coordinate": "second_order.coordinate",
    "init": "nn.init",
    "gradcheck": "nn.gradcheck",
    "regularization": "nn.regularization",
    "plotting": "viz.plotting",
    "widgets": "viz.widgets",
    "static_widgets": "viz.static_widgets",
    "landscape": "viz.landscape",
}


class _MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """``import course_lib.viz.plotting`` gives the module ``course_lib.viz.plotting`` itself
    (same object, private names included), so code written for 0.1 keeps working."""

    def find_spec(self, fullname, path=None, target=None):
        prefix, _, name = fullname.rpartition(".")
        if prefix == __name__ and name in MOVED:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        return importlib.import_module(f"{__name__}.{MOVED[spec.name.rpartition('.')[2]]}")

    def exec_module(self, module):
        pass


if not any(isinstance(f, _MovedModules) for f in sys.meta_path):
    sys.meta_path.append(_MovedModules())
