"""Sphinx directives that show a rule straight from its class, so the docs cannot drift.

``.. rule-parameters:: brian_stdp.NearestOnlineSTDP``
    a table of the rule's parameters: name, default, meaning, allowed values
    (from :meth:`brian_stdp.STDPRule.parameters`).
``.. rule-templates:: brian_stdp.NearestOnlineSTDP``
    the Brian2 code the rule renders: ``model``, ``on_pre``, ``on_post``, the row and column
    helper state, the summed row expressions, the per-step operations and the per-run reset,
    each read from the class attribute of that name at build time.
"""
import importlib
import textwrap

from docutils import nodes
from docutils.parsers.rst import Directive
from docutils.statemachine import StringList

from brian_stdp.schedule import step_operation_fields


def _rule_class(path):
    module_name, _, class_name = path.rpartition(".")
    try:
        return getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as error:
        raise ValueError(f"cannot import rule class {path!r}: {error}") from error


class _RuleDirective(Directive):
    required_arguments = 1
    has_content = False

    def run(self):
        try:
            cls = _rule_class(self.arguments[0])
        except ValueError as error:
            raise self.error(str(error)) from error
        container = nodes.container()
        self.state.nested_parse(StringList(self.lines(cls), source=self.arguments[0]),
                                self.content_offset, container)
        return container.children

    def lines(self, cls):
        raise NotImplementedError


def _code(title, code, language="text"):
    code = textwrap.dedent(code).strip("\n")
    if not code.strip():
        return []
    return [f"``{title}``", "", f".. code-block:: {language}", ""] + [
        "   " + line for line in code.splitlines()] + [""]


def _cell(text):
    return str(text).replace("\n", " ")


class RuleParameters(_RuleDirective):
    def lines(self, cls):
        out = [".. list-table::", "   :header-rows: 1", "   :widths: 15 20 45 20", "",
               "   * - parameter", "     - default", "     - meaning", "     - allowed"]
        for name, default, meaning, allowed in cls.parameters():
            out += [f"   * - ``{name}``", f"     - ``{default!r}``", f"     - {_cell(meaning)}",
                    f"     - {_cell(allowed)}"]
        return out + [""]


class RuleTemplates(_RuleDirective):
    def lines(self, cls):
        # Read from a default instance: some templates depend on parameters (e.g. the name of
        # the target variable PostPreIntSTDP reads), so they are properties of the instance.
        cls = cls()
        out = []
        out += _code("model  (per synapse)", cls.model)
        for keyword in ("on_pre", "on_post"):
            code = getattr(cls, keyword, "")
            if isinstance(code, dict):
                for pathway, text in code.items():
                    out += _code(f"{keyword}  (pathway {pathway!r})", text)
            else:
                out += _code(keyword, code)
        for attribute, meaning in (("pathway_delay_steps",
                                    "delay of the rule's pathways, in steps"),
                                   ("pathway_orders", "order of the rule's pathways in the "
                                                      "'synapses' slot")):
            mapping = getattr(cls, attribute, None) or {}
            out += _code(f"{attribute}  ({meaning})",
                         "\n".join(f"{name}: {value!r}" for name, value in mapping.items()))
        out += _code("post_model  (one per post-synaptic neuron: the row state)",
                     getattr(cls, "post_model", ""))
        out += _code("pre_model  (one per pre-synaptic neuron: the column state)",
                     getattr(cls, "pre_model", ""))
        for side, (code, steps, order) in (getattr(cls, "neuron_pathways", None) or {}).items():
            group = "pre_model" if side == "pre" else "post_model"
            out += _code(f"neuron_pathways[{side!r}]  (on the {group} neuron of each {side} "
                         f"spike, {steps} step(s) later, order {order} in the 'synapses' slot)",
                         code)
        summed = getattr(cls, "summed", None) or {}
        when = getattr(cls, "summed_when", "start")
        every_step = getattr(cls, "summed_every_step", True)
        how = f"every step, slot {when!r}" if every_step else "once before each run"
        out += _code(f"summed  (row sums over each post neuron's synapses, {how})",
                     "\n".join(f"{name} = sum over the row of {expr}"
                               for name, expr in summed.items()))
        population = getattr(cls, "population_summed", None) or {}
        out += _code("population_summed  (sums over all rows)",
                     "\n".join(f"{name} = sum over all rows of {expr}"
                               for name, expr in population.items()))
        operations = [step_operation_fields(op) for op in getattr(cls, "step_operations", [])]
        for index, (group, code, slot, order) in enumerate(operations, 1):
            at = "" if order is None else f", order {order}"
            out += _code(f"step operation {index}: on the {group} group, every step, "
                         f"slot {slot!r}{at}", code)
        row_pass = getattr(cls, "row_pass", None) or {}
        if row_pass:
            slot = row_pass.get("when", "after_synapses")
            out += _code(f"row_pass condition  (per row, slot {slot!r}: which rows are "
                         "passed over this step)", row_pass["condition"])
            out += _code("row_pass row_code  (on those rows)", row_pass.get("row_code", ""))
            out += _code("row_pass code  (on the synapses of those rows only)",
                         row_pass["code"])
        out += _code("reset_code  (start of every run or period: synapses)",
                     getattr(cls, "reset_code", ""))
        out += _code("post_reset_code  (start of every run or period: rows)",
                     getattr(cls, "post_reset_code", ""))
        out += _code("pre_reset_code  (start of every run or period: columns)",
                     getattr(cls, "pre_reset_code", ""))
        return out


def setup(app):
    app.add_directive("rule-parameters", RuleParameters)
    app.add_directive("rule-templates", RuleTemplates)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
