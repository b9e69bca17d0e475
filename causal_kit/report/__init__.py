"""Reports: render results and designs as self-contained HTML (see templates/)."""
