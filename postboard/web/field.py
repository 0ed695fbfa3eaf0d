"""`Field` and `field`: Reflex's state field (`rx.Field`, `rx.field`), typed for mypy.

On a state class a field reads as its Var (`State.rows.length()`), on an instance as its
value. `rx.Field.__get__` says so in overloads, but some take a union `self` type with a
type variable (`Field[SEQUENCE_TYPE] | Field[SEQUENCE_TYPE | None]`); mypy solves that
variable to Never and picks the overload for any field, so a list reads as
`ArrayVar[Sequence[Never]]` and a dict or dataclass as `ArrayVar[Never]`, and
`State.errors["name"]` or `State.opened.key` could not be checked. At runtime these *are*
`rx.Field` and `rx.field`; only the static signatures differ.
"""

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

import reflex as rx

if TYPE_CHECKING:
    from _typeshed import DataclassInstance
    from reflex.vars import ArrayVar, BooleanVar, NumberVar, ObjectVar, StringVar, Var

    T = TypeVar("T")
    V = TypeVar("V")
    M = TypeVar("M", bound=Mapping[Any, Any])
    D = TypeVar("D", bound=DataclassInstance)

    class Field(Generic[T]):
        """A state field: its Var on the class, its value on an instance."""

        @overload
        def __get__(self: "Field[bool]", instance: None, owner: Any) -> BooleanVar: ...
        @overload
        def __get__(self: "Field[int]", instance: None, owner: Any) -> NumberVar[int]: ...
        @overload
        def __get__(self: "Field[float]", instance: None, owner: Any) -> NumberVar[float]: ...
        @overload
        def __get__(self: "Field[str]", instance: None, owner: Any) -> StringVar[str]: ...
        @overload
        def __get__(self: "Field[list[V]]", instance: None, owner: Any) -> ArrayVar[list[V]]: ...
        @overload
        def __get__(self: "Field[M]", instance: None, owner: Any) -> ObjectVar[M]: ...
        @overload
        def __get__(self: "Field[D]", instance: None, owner: Any) -> ObjectVar[D]: ...
        @overload
        def __get__(self, instance: None, owner: Any) -> Var[T]: ...
        @overload
        def __get__(self, instance: object, owner: Any) -> T: ...
        def __get__(self, instance: object, owner: Any) -> Any:
            """The Var on class access, the value on instance access."""

        def __set__(self, instance: object, value: T) -> None:
            """Set the value on an instance."""

    def field(default: T = ..., *, default_factory: Callable[[], T] | None = None) -> Field[T]:
        """Declare a state field with a default, or a factory for mutable defaults."""

else:
    Field = rx.Field
    field = rx.field
