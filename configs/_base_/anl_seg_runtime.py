# What every anl-seg config adds to mmseg's default runtime: importing
# anl_seg registers its losses, optimizer wrapper and hooks; the hook stops
# training with the file name when a (noisy) mask holds an id that is not a
# class (mmseg would silently count it in the wrong confusion-matrix bin).
custom_imports = dict(imports=['anl_seg'], allow_failed_imports=False)
custom_hooks = [dict(type='LabelRangeCheckHook')]
