"""Export a fitted estimator's whole inference path to one ONNX model.

Three graphs, joined by :func:`onnx.compose.merge_models`:

1. the fitted preprocessing (imputation, scaling, one-hot encoding), converted
   by ``skl2onnx`` from ``preprocessor_`` (its categorical encoder re-expressed
   on the categories written as strings, which is what the model reads);
2. the network, or the ensemble's weighted average, with softmax and arg-max
   (:class:`~sknas.export._network.InferenceNetwork`), converted by
   :func:`torch.onnx.export`;
3. the outputs: a ``Gather`` of ``classes_`` by the arg-max (``label``) next
   to ``probabilities`` for a classifier, ``prediction`` for a regressor.

A model fitted on images first flattens them (one ``Flatten`` node).
"""

from __future__ import annotations

import copy
import logging
import warnings
from typing import Any

import numpy as np

from sknas.export._columns import ExportError, InputLayout, input_layout
from sknas.export._network import InferenceNetwork, inference_network

__all__ = ["ONNX_OPSET", "to_onnx"]

#: Opset of the default ONNX domain in exported models.
ONNX_OPSET = 18
#: Opset of the ``ai.onnx.ml`` domain (skl2onnx's scalers, imputer and encoder).
ONNX_ML_OPSET = 3
_ENCODED = "sknas_encoded"


def _convertible_preprocessor(preprocessor: Any, layout: InputLayout) -> Any:
    """A copy of the fitted ``ColumnTransformer`` that ``skl2onnx`` converts.

    The categorical columns' pipeline (a ``FunctionTransformer`` that makes
    missing values one marker, then ``OneHotEncoder``) becomes one
    ``OneHotEncoder`` over the same categories, in the same order, written as
    strings (missing: ``""``): the same one-hot columns for string input.
    """
    from sklearn.preprocessing import OneHotEncoder

    converted = copy.deepcopy(preprocessor)
    for position, (kind, _, columns) in enumerate(converted.transformers_):
        if kind != "categorical":
            continue
        categories = [np.asarray(layout.categories[j], dtype=object) for j in columns]
        encoder = OneHotEncoder(categories=categories, handle_unknown="ignore")
        encoder.fit(np.array([[values[0] for values in categories]], dtype=object))
        converted.transformers_[position] = (kind, encoder, columns)
    return converted


def _preprocessing_graph(estimator: Any, layout: InputLayout) -> Any:
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    preprocessor = _convertible_preprocessor(estimator.preprocessor_, layout)
    if layout.per_column:
        initial_types: list[Any] = [
            (name, StringTensorType([None, 1]) if kind == "categorical"
             else FloatTensorType([None, 1]))
            for name, kind in zip(layout.names, layout.kinds)
        ]
    else:
        initial_types = [("X", FloatTensorType([None, len(layout.kinds)]))]
    model = convert_sklearn(
        preprocessor,
        initial_types=initial_types,
        target_opset={"": ONNX_OPSET, "ai.onnx.ml": ONNX_ML_OPSET},
        final_types=[(_ENCODED, FloatTensorType([None, None]))],
    )
    # skl2onnx writes the lowest opset its operators need; the network's is newer.
    from onnx import version_converter

    return version_converter.convert_version(model, ONNX_OPSET)


def _network_graph(network: InferenceNetwork, n_encoded: int, y_was_1d: bool) -> Any:
    import torch

    class Outputs(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.network = network

        def forward(self, x: torch.Tensor) -> Any:
            output, index = self.network(x)
            if network.classification:
                return output, index
            return output.reshape(-1) if y_was_1d else output

    names = ["sknas_probabilities", "label_index"] if network.classification else ["prediction"]
    example = torch.zeros(2, n_encoded, dtype=torch.float32)
    batch = torch.export.Dim("batch", min=1)
    # The exporter logs a warning per torchvision operator it cannot register (torchvision
    # is not a dependency) and warns about its own internals: neither concerns the user.
    registry_log = logging.getLogger("torch.onnx._internal.exporter._registration")
    level = registry_log.level
    registry_log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            program = torch.onnx.export(
                Outputs().eval(),
                (example,),
                input_names=[_ENCODED],
                output_names=names,
                opset_version=ONNX_OPSET,
                dynamo=True,
                dynamic_shapes=({0: batch},),
                verbose=False,
            )
    finally:
        registry_log.setLevel(level)
    if program is None:  # only the legacy exporter writes nothing back
        raise RuntimeError("torch.onnx.export returned no program.")
    return program.model_proto


def _label_graph(classes: np.ndarray) -> Any:
    """``label = classes[label_index]``, ``probabilities`` passed on."""
    from onnx import TensorProto, helper, numpy_helper

    values = np.asarray(classes)
    if values.dtype.kind in "iu":
        values = values.astype(np.int64)
    elif values.dtype.kind == "f":
        values = values.astype(np.float64)
    elif values.dtype.kind in "OUS":
        values = np.array([str(v) for v in values], dtype=object)
    elif values.dtype.kind != "b":
        raise ExportError(f"Cannot write classes of dtype {values.dtype} into an ONNX model.")
    constant = numpy_helper.from_array(values, name="sknas_classes")
    nodes = [
        helper.make_node("Gather", ["sknas_classes", "label_index"], ["label"], axis=0),
        helper.make_node("Identity", ["probabilities_in"], ["probabilities"]),
    ]
    graph = helper.make_graph(
        nodes,
        "sknas_labels",
        inputs=[
            helper.make_tensor_value_info("probabilities_in", TensorProto.DOUBLE, [None, None]),
            helper.make_tensor_value_info("label_index", TensorProto.INT64, [None]),
        ],
        outputs=[
            helper.make_tensor_value_info("label", constant.data_type, [None]),
            helper.make_tensor_value_info("probabilities", TensorProto.DOUBLE, [None, None]),
        ],
        initializer=[constant],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", ONNX_OPSET)])


def _flatten_graph(image_shape: tuple[int, ...]) -> Any:
    """``X`` of shape (n, channels, height, width) -> rows of ``prod(image_shape)``."""
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Flatten", ["X"], ["X_rows"], axis=1)],
        "sknas_flatten",
        inputs=[helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, *image_shape])],
        outputs=[
            helper.make_tensor_value_info(
                "X_rows", TensorProto.FLOAT, [None, int(np.prod(image_shape))]
            )
        ],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", ONNX_OPSET)])


def _merge(first: Any, second: Any, io_map: list[tuple[str, str]], prefix: str) -> Any:
    """Join two models (``second`` reads ``first``'s outputs named in ``io_map``)."""
    from onnx import compose, helper

    version = max(first.ir_version, second.ir_version)
    first.ir_version = second.ir_version = version
    # Inner names of the second model get a prefix; its inputs and outputs keep theirs.
    renamed = compose.add_prefix(second, prefix, rename_inputs=False, rename_outputs=False)
    domains = {op.domain: op.version for op in first.opset_import}
    for op in second.opset_import:
        domains.setdefault(op.domain, op.version)
    merged = compose.merge_models(first, renamed, io_map=io_map)
    del merged.opset_import[:]
    merged.opset_import.extend(helper.make_opsetid(d, v) for d, v in domains.items())
    return merged


def to_onnx(estimator: Any) -> Any:
    """The ``onnx.ModelProto`` of a fitted estimator, checked by ``onnx.checker``."""
    import onnx

    layout = input_layout(estimator)
    n_encoded = len(estimator.preprocessor_.get_feature_names_out())
    network = inference_network(estimator)
    try:
        network_graph = _network_graph(
            network, n_encoded, bool(getattr(estimator, "_y_was_1d", False))
        )
    except Exception as exc:  # the exporter raises many types
        raise ExportError(
            f"torch.onnx.export could not convert the network {estimator.best_architecture_} "
            f"({type(exc).__name__}: {exc}). export_torchscript may still work."
        ) from exc
    model = _merge(
        _preprocessing_graph(estimator, layout), network_graph, [(_ENCODED, _ENCODED)], "network/"
    )
    if network.classification:
        model = _merge(
            model,
            _label_graph(estimator.classes_),
            [("sknas_probabilities", "probabilities_in"), ("label_index", "label_index")],
            "labels/",
        )
    if layout.image_shape is not None:
        model = _merge(_flatten_graph(layout.image_shape), model, [("X_rows", "X")], "rows/")
    model.producer_name = "sknas"
    onnx.checker.check_model(model, full_check=True)
    return model
