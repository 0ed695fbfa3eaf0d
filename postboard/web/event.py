"""`event`: Reflex's `rx.event` decorator, typed for mypy.

`rx.event` is a class whose `__new__` returns an `EventCallback`; pyright follows that,
mypy types every decorated handler as the class itself (`EventNamespace`), so
`State.handler(arg)` and `on_click=State.handler` could not be checked. At runtime this
*is* `rx.event`; only the static signature differs.
"""

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, TypeVarTuple, overload

import reflex as rx
from reflex.event import EventCallback

P = TypeVarTuple("P")
S = TypeVar("S")

if TYPE_CHECKING:

    @overload
    def event(fn: Callable[[S, *P], Any], /) -> EventCallback[*P]: ...

    @overload
    def event(
        *, background: bool = ..., throttle: int | None = ..., debounce: int | None = ...
    ) -> Callable[[Callable[[S, *P], Any]], EventCallback[*P]]: ...

    def event(*args: Any, **kwargs: Any) -> Any:
        """Mark a state method as an event handler."""

else:
    event = rx.event
