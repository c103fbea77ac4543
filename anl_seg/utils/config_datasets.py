"""The file-holding datasets inside a config's (wrapped) dataset dict."""

# Wrappers whose inner dataset(s) hold the files (ConcatDataset,
# RepeatDataset, ClassBalancedDataset, ...).
_WRAPPER_KEYS = ('datasets', 'dataset')


def leaf_datasets(dataset):
    """The dataset dicts holding files, inside any wrapper datasets."""
    if dataset is None:
        return []
    for key in _WRAPPER_KEYS:
        inner = dataset.get(key)
        if inner is None:
            continue
        inner = inner if isinstance(inner, (list, tuple)) else [inner]
        return [leaf for item in inner for leaf in leaf_datasets(item)]
    return [dataset]
