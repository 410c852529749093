"""``generator:`` in a scenario file: one typed model per registered generator, picked by ``type``.

Each model is built from the generator class itself: the parameters and defaults of its
``__init__`` and the rules of its ``_common_constraints`` / ``_parameter_constraints``
(``Interval`` -> ``ge``/``gt``/``le``/``lt``, ``Options`` -> ``Literal``), so a typo or a value
out of range fails when the file is read, with its line, instead of after the fit::

    generator:
      type: dp_ctgan
      epochs: 10            # an int >= 1; "ten" or -3 is an error on this line
      batch_size: 256

The models are built lazily from the generator registry when a spec is validated and when the
JSON Schemas are exported, so generators that packs or users register later get theirs too,
and :class:`~synthscape.scenarios.tabular.TabularSpec` stays a plain pydantic model whose
``generator`` field is a union discriminated on ``type``.

After validation the spec holds every effective parameter, so ``spec.resolved.yaml`` shows
them all, defaults included. ``epsilon``, ``delta`` and ``accountant`` come from ``privacy:``
and ``seed`` from the top-level ``seed:`` (filled in here; the spec model declares ``seed``,
``schema`` and ``privacy`` before ``generator`` so that they are validated first). Setting one
of them under ``generator:`` is an error that says where it belongs, unless the value equals
the effective one: the resolved spec repeats them, and it runs again as it is.
"""
from __future__ import annotations

import builtins
import difflib
import inspect
import re
import typing
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    Strict,
    TypeAdapter,
    ValidationError,
    create_model,
)
from pydantic_core import PydanticCustomError, core_schema

from synthscape.scenarios.spec import StrictModel

#: Parameters that are not set under ``generator:``, and where they are set instead.
SET_ELSEWHERE: dict[str, str] = {
    "epsilon": "privacy.epsilon",
    "delta": "privacy.delta",
    "accountant": "privacy.accountant",
    "seed": "the top-level 'seed'",
}


class GeneratorParams(StrictModel):
    """Base of the generated parameter models: ``type`` plus the generator's parameters."""

    type: str
    # the registered class the model describes
    generator_class: ClassVar[builtins.type | None] = None

    @property
    def params(self) -> dict[str, Any]:
        """The constructor arguments: every parameter by its name, ``type`` left out."""
        out = self.model_dump(by_alias=True)
        out.pop("type", None)
        return out


_MODELS: dict[tuple[str, type], type[GeneratorParams]] = {}


def params_model(name: str) -> type[GeneratorParams]:
    """The parameter model of the registered generator ``name`` (built once per class).
    An unknown name raises :class:`~synthscape.errors.UnknownNameError` (did you mean)."""
    from synthscape.generators import GENERATORS

    cls = GENERATORS.get(name)
    key = (name, cls)
    if key not in _MODELS:
        _MODELS[key] = _build(name, cls)
    return _MODELS[key]


def generator_models() -> dict[str, type[GeneratorParams]]:
    """The parameter model of every generator registered now, by name."""
    from synthscape.generators import GENERATORS

    return {name: params_model(name) for name in GENERATORS.names()}


# ---- building a model from a generator class --------------------------------------------------
def _build(name: str, cls: type) -> type[GeneratorParams]:
    rules = {**getattr(cls, "_common_constraints", {}),
             **getattr(cls, "_parameter_constraints", {})}
    try:
        hints = typing.get_type_hints(cls.__init__)  # type: ignore[misc]
    except Exception:  # an annotation that does not resolve: the rules still type the field
        hints = {}
    fields: dict[str, Any] = {"type": (Literal[name], Field(description="registered generator"))}
    for pname, p in inspect.signature(cls.__init__).parameters.items():  # type: ignore[misc]
        if pname == "self" or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if pname == "type":
            raise TypeError(f"generator '{name}' ({cls.__name__}) has a parameter named 'type', "
                            f"which scenario files use to name the generator; rename it")
        annotation = _from_rules(rules[pname]) if pname in rules else hints.get(pname, Any)
        if pname in rules:
            annotation = Annotated[annotation, AfterValidator(_backstop(rules[pname]))]
        extra: dict[str, Any] = {}
        if pname in SET_ELSEWHERE:
            extra = {"description": f"set by {SET_ELSEWHERE[pname]}; spec.resolved.yaml shows "
                                    f"the effective value here", "json_schema_extra":
                     {"readOnly": True}}
        elif pname in rules:
            extra = {"description": " or ".join(str(r) for r in rules[pname])}
        field_name = pname if _free_name(pname) else f"{pname}_"
        if field_name != pname:
            extra["alias"] = pname
        default = ... if p.default is inspect.Parameter.empty else p.default
        fields[field_name] = (annotation, Field(default, **extra))
    words = [w for w in re.split(r"[^0-9A-Za-z]+", name) if w]
    model = create_model("".join(w[:1].upper() + w[1:] for w in words) + "Params",
                         __base__=GeneratorParams, __doc__=_summary(cls, name), **fields)
    model.generator_class = cls
    return model


def _free_name(pname: str) -> bool:
    return not pname.startswith("_") and not hasattr(BaseModel, pname)


def _summary(cls: type, name: str) -> str:
    doc = inspect.cleandoc(cls.__doc__ or "").split("\n\n")[0].replace("\n", " ")
    return f"Parameters of the '{name}' generator." + (f" {doc}" if doc else "")


def _no_bool(v: Any) -> Any:
    if isinstance(v, bool):
        raise PydanticCustomError("number_type", "Input should be a number, not a boolean")
    return v


def _from_rule(rule: Any) -> Any:
    from synthscape.generators._params import Interval, Options, _Type

    if isinstance(rule, Interval):
        bounds: dict[str, Any] = {}
        if rule.lo is not None:
            bounds["ge" if rule.closed in ("both", "left") else "gt"] = rule.lo
        if rule.hi is not None:
            bounds["le" if rule.closed in ("both", "right") else "lt"] = rule.hi
        if rule.type is int:
            return Annotated[int, Strict(), Field(**bounds)]
        return Annotated[float, Field(allow_inf_nan=False, **bounds), BeforeValidator(_no_bool)]
    if isinstance(rule, Options):
        return Literal[tuple(rule.values)]
    if isinstance(rule, _Type):
        if rule.t is type(None):
            return None
        if rule.t in (int, bool):
            return Annotated[rule.t, Strict()]
        return rule.t
    return Any  # a rule type of a pack: the backstop applies its own check


def _from_rules(rules: list) -> Any:
    types = tuple(_from_rule(r) for r in rules)
    return types[0] if len(types) == 1 else Union[types]  # noqa: UP007 - built at runtime


def _backstop(rules: list):
    """The generator's own check, after pydantic's: the model never accepts what fit refuses."""
    def check(v: Any) -> Any:
        if not any(r.ok(v) for r in rules):
            raise ValueError("must be " + " or ".join(str(r) for r in rules))
        return v

    return check


# ---- validation -------------------------------------------------------------------------------
def _error(loc: tuple, kind: str, message: str, value: Any) -> ValidationError:
    return ValidationError.from_exception_data("generator", [
        {"type": PydanticCustomError(kind, message),
         "loc": loc, "input": value}])


def _effective(model: type[GeneratorParams], context: Mapping[str, Any]) -> dict[str, tuple]:
    """``{parameter: (value, where it comes from)}`` for the parameters the rest of the spec
    sets: epsilon/delta/accountant from ``privacy`` (private generators), seed from ``seed``,
    out_of_bounds (when not given) from ``schema.out_of_bounds``."""
    names = {f.alias or k for k, f in model.model_fields.items()}
    out: dict[str, tuple] = {}
    privacy = context.get("privacy")
    if privacy is not None and getattr(model.generator_class, "private", True):
        for key in ("epsilon", "delta", "accountant"):
            value = getattr(privacy, key, None)
            if key in names and value is not None:
                out[key] = (value, f"privacy.{key}")
    if "seed" in names and context.get("seed") is not None:
        out["seed"] = (context["seed"], "seed")
    oob = getattr(context.get("schema_"), "out_of_bounds", None)
    if "out_of_bounds" in names and oob is not None:
        out["out_of_bounds"] = (oob, "schema.out_of_bounds")
    return out


def _unknown(model: type[GeneratorParams], name: str, key: str) -> str:
    valid = [f.alias or k for k, f in model.model_fields.items() if k != "type"]
    own = [k for k in valid if k not in SET_ELSEWHERE]
    close = difflib.get_close_matches(str(key), valid, n=2, cutoff=0.6)
    hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
    return (f"generator '{name}' has no parameter '{key}'; {hint}its parameters: "
            f"{', '.join(own) or '(none)'} (epsilon, delta and accountant are set in "
            f"'privacy:', seed at the top level)")


def validate_generator(value: Any, context: Mapping[str, Any] | None = None) -> GeneratorParams:
    """Validate a ``generator:`` mapping into the model of its ``type`` and fill in the
    parameters that ``context`` (the spec's fields validated so far) sets."""
    if isinstance(value, GeneratorParams):
        value = value.model_dump(by_alias=True)
    if not isinstance(value, Mapping):
        raise _error((), "generator_mapping", "give a mapping with 'type' (a registered "
                     "generator, see `synthscape list generators`) and its parameters", value)
    data = dict(value)
    if "type" not in data:
        raise _error(("type",), "missing", "missing 'type': the name of a registered generator "
                     "(see `synthscape list generators`)", data)
    from synthscape.errors import UnknownNameError

    name = data["type"]
    try:
        model = params_model(str(name))
    except UnknownNameError as exc:
        raise _error(("type",), "unknown_generator", str(exc), name) from None
    names = {f.alias or k for k, f in model.model_fields.items()}
    unknown = [k for k in data if k not in names]
    if unknown:
        errors: list[Any] = [{"type": PydanticCustomError("unknown_parameter",
                                               _unknown(model, str(name), k)),
                   "loc": (k,), "input": data[k]} for k in unknown]
        raise ValidationError.from_exception_data("generator", errors)
    effective = _effective(model, context or {})
    _check_set_elsewhere(model, data, effective)
    filled = {k: v for k, (v, _) in effective.items() if k not in data}
    try:
        return model.model_validate({**data, **filled})
    except ValidationError as exc:
        raise _blame(exc, filled, effective) from None


def _blame(exc: ValidationError, filled: dict, effective: dict) -> ValidationError:
    """Errors on a filled-in value name the field the value came from."""
    if not any(e["loc"] and e["loc"][0] in filled for e in exc.errors()):
        return exc
    errors: list[Any] = []
    for e in exc.errors():
        msg = e["msg"]
        if e["loc"] and e["loc"][0] in filled:
            msg = (f"{msg} (the value {e['input']!r} comes from {effective[e['loc'][0]][1]}, "
                   f"which this generator does not accept)")
        errors.append({"type": PydanticCustomError(e["type"], msg),
                       "loc": e["loc"], "input": e["input"]})
    return ValidationError.from_exception_data("generator", errors)


def _check_set_elsewhere(model: type[GeneratorParams], data: dict, effective: dict) -> None:
    """epsilon, delta, accountant and seed under ``generator:`` must equal their effective
    value (what ``privacy:`` / ``seed:`` give, else the generator's default)."""
    errors: list[Any] = []
    defaults = {f.alias or k: f.default for k, f in model.model_fields.items()}
    for key, where in SET_ELSEWHERE.items():
        if key not in data or key not in defaults:
            continue
        want, source = effective.get(key, (defaults[key], "the generator's default"))
        if data[key] != want or isinstance(data[key], bool) != isinstance(want, bool):
            errors.append({"type": PydanticCustomError("set_elsewhere", (
                f"'{key}' is set in {where}, not under 'generator:' (here {data[key]!r}; "
                f"{source} gives {want!r}). spec.resolved.yaml repeats the effective value "
                f"here, so a value here must equal it")), "loc": (key,), "input": data[key]})
    if errors:
        raise ValidationError.from_exception_data("generator", errors)


# ---- the pydantic type ------------------------------------------------------------------------
class _RegistryUnion:
    """Validates through the registry at validation time; its JSON Schema is the union of the
    models of every generator registered when the schema is generated."""

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> core_schema.CoreSchema:
        def validate(value: Any, info: core_schema.ValidationInfo) -> GeneratorParams:
            return validate_generator(value, info.data)

        def serialize(value: GeneratorParams, info: Any) -> Any:
            return value.model_dump(mode=info.mode, by_alias=True)

        return core_schema.with_info_plain_validator_function(
            validate, serialization=core_schema.plain_serializer_function_ser_schema(
                serialize, info_arg=True))

    def __get_pydantic_json_schema__(self, schema: Any, handler: Any) -> dict[str, Any]:
        models = tuple(generator_models().values())
        if not models:
            return {"type": "object", "properties": {"type": {"type": "string"}},
                    "required": ["type"]}
        union = models[0] if len(models) == 1 else Annotated[Union[models],  # noqa: UP007
                                                             Field(discriminator="type")]
        out = handler(TypeAdapter(union).core_schema)  # type: ignore[arg-type]
        out["description"] = ("A registered generator ('type') and its parameters; epsilon, "
                              "delta and accountant come from 'privacy', seed from 'seed'")
        return out


GeneratorSpec = Annotated[GeneratorParams, _RegistryUnion()]
"""The type of a spec's ``generator`` field. Declare it after ``seed``, ``schema`` and
``privacy``: their validated values fill in the generator's privacy parameters and seed."""
