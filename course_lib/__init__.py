"""course_lib: verified implementations for *Optimization for Training Deep Models*.

Modules (each named after what it teaches):

* :mod:`course_lib.objectives` -- test surfaces with value, gradient, Hessian and minimizers;
* :mod:`course_lib.optim` -- update rules and the ``torch.optim.Optimizer`` classes on them;
* :mod:`course_lib.descent` -- run an update rule on a NumPy objective, get its trajectory;
* :mod:`course_lib.second_order`, :mod:`course_lib.coordinate` -- line searches, Newton, CG, BFGS, L-BFGS; coordinate descent;
* :mod:`course_lib.schedules` -- learning rate as a function of the step, plateau rule, early stopping;
* :mod:`course_lib.averaging` -- Polyak--Ruppert (uniform) average, EMA, and SWA with BatchNorm update;
* :mod:`course_lib.plotting` and :mod:`course_lib.widgets` -- the book's figures and explorers;
* :mod:`course_lib.data` and :mod:`course_lib.training` -- small real datasets and a loop;
* :mod:`course_lib.numerics` -- numerically stable softmax and log-sum-exp;
* :mod:`course_lib.landscape` -- filter-normalized loss-landscape slices;
* :mod:`course_lib.nn`, :mod:`course_lib.init`, :mod:`course_lib.gradcheck` -- NumPy layers with backward passes, initializers, finite-difference checks.
"""

__version__ = "0.1.0"
