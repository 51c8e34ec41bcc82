"""Use cases that write (STYLE.md §1). One module per subject; import from the module."""
