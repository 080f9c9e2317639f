"""Jinja's template context with a shorter way to call a plain function.

Every call in a template (`_()`, `url_for`, `has_endpoint`, ...: some eighty on an article page)
goes through Context.call, which asks the callable and its `__call__` whether it wants the
context, the evaluation context or the environment passed, and drops the loop and block
variables it was handed. For a plain Python function the answer is in one attribute; asking it
the general way cost about as much as the gettext and URL look-ups themselves.
"""

from types import FunctionType

from jinja2.runtime import Context
from jinja2.utils import _PassArg

_STOP_ITERATION = "value was undefined because a callable raised a StopIteration exception"


class QuickCallContext(Context):
    """A Context whose call() takes a short way for plain functions and eval-context ones.

    A plain function's `__call__` is a method-wrapper, which never carries `jinja_pass_arg`, so
    only the function's own mark counts; whatever else (a class, a bound method, a function that
    wants the context or the environment) goes Jinja's own way. The result is Jinja's: the same
    arguments, and a StopIteration becomes the same undefined value.
    """

    def call(__self, __obj, *args, **kwargs):  # noqa: N805 - Jinja's own signature (a keyword may be "self")
        if type(__obj) is not FunctionType:
            return Context.call(__self, __obj, *args, **kwargs)
        pass_arg = getattr(__obj, "jinja_pass_arg", None)
        if pass_arg is _PassArg.eval_context:
            args = (__self.eval_ctx, *args)
        elif pass_arg is not None:  # the context (maybe derived) or the environment: Jinja's own way
            return Context.call(__self, __obj, *args, **kwargs)
        if kwargs:
            kwargs.pop("_block_vars", None)
            kwargs.pop("_loop_vars", None)
        try:
            return __obj(*args, **kwargs)
        except StopIteration:
            return __self.environment.undefined(_STOP_ITERATION)


def init_app(app) -> None:
    """Make the app's templates use QuickCallContext."""
    app.jinja_env.context_class = QuickCallContext
