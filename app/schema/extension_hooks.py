"""strawberry's extension hooks, found once per extension class instead of per request.

For each request and each stage (operation, parsing, validation, execution) strawberry
looks at every extension for that stage's hook, tests what kind of function it is, and
wraps it with `contextlib.contextmanager` around a bound method, which copies the
function's name and docstring (`functools.update_wrapper`) each time: with eight
extensions, 32 lookups and ten wrappers a request, ~5 % of a `{ __typename }`'s CPU.
Here what a class's hook is and its context manager are worked out once per class and
stage; each request only binds it to its extension instance. The hooks run as before, in
the same order; a hook of a kind not handled here (a plain callable) is found by
strawberry's own lookup, as before.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from typing import Any

from strawberry.extensions import SchemaExtension
from strawberry.extensions.context import (
    ExecutingContextManager,
    ExtensionContextManagerBase,
    OperationContextManager,
    ParsingContextManager,
    ValidationContextManager,
    WrappedHook,
)
from strawberry.extensions.runner import SchemaExtensionsRunner

_OWN_LOOKUP = object()
"""A hook that strawberry's own `get_hook` wraps (not a generator function)."""

_HOOKS: dict[tuple[type, str], Any] = {}
"""(extension class, hook name) → None (no hook), _OWN_LOOKUP, or (the hook's context
manager factory, taking the extension; whether it is async). Bounded by the classes."""


def _hook_of(kind: type, name: str, default: Any) -> Any:
    key = (kind, name)
    if key in _HOOKS:
        return _HOOKS[key]
    hook = getattr(kind, name)
    known: Any
    if hook is default:
        known = None
    elif inspect.isgeneratorfunction(hook):
        known = (contextlib.contextmanager(hook), False)
    elif inspect.isasyncgenfunction(hook):
        known = (contextlib.asynccontextmanager(hook), True)
    else:
        known = _OWN_LOOKUP
    _HOOKS[key] = known
    return known


class _FoundOnce(ExtensionContextManagerBase):
    def get_hook(self, extension: SchemaExtension) -> WrappedHook | None:
        known = _hook_of(type(extension), self.HOOK_NAME, self.default_hook)
        if known is None:
            return None
        if known is _OWN_LOOKUP:
            return super().get_hook(extension)
        factory, is_async = known
        return WrappedHook(
            extension=extension, hook=functools.partial(factory, extension), is_async=is_async
        )


class _Operation(_FoundOnce, OperationContextManager):
    pass


class _Validation(_FoundOnce, ValidationContextManager):
    pass


class _Parsing(_FoundOnce, ParsingContextManager):
    pass


class _Executing(_FoundOnce, ExecutingContextManager):
    pass


class HooksFoundOnce(SchemaExtensionsRunner):
    """strawberry's runner of extensions, with each stage's hooks found once per class."""

    def operation(self) -> OperationContextManager:
        return _Operation(self.extensions)

    def validation(self) -> ValidationContextManager:
        return _Validation(self.extensions)

    def parsing(self) -> ParsingContextManager:
        return _Parsing(self.extensions)

    def executing(self) -> ExecutingContextManager:
        return _Executing(self.extensions)
