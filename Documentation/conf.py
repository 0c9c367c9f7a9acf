# SPDX-License-Identifier: GPL-2.0
#
# Sphinx configuration of vshm's documentation (make docs).  Built with
# Debian's python3-sphinx and its default theme; warnings are errors (the
# Makefile passes -W), so a broken page fails the build.

import os

_top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
with open(os.path.join(_top, "VERSION"), encoding="utf-8") as f:
    release = f.read().strip()
version = ".".join(release.split(".")[:2])

project = "vshm"
author = "The vshm authors"
copyright = "The vshm authors; GPL-2.0 (module, tools), LGPL (libvshm)"

root_doc = "index"
exclude_patterns = ["_build"]
# Literal blocks are shell sessions, C and file listings: no guessing.
highlight_language = "none"

html_theme = "alabaster"
html_title = "vshm " + release
# The installed HTML is read as pages, not re-edited: no reST sources, and
# no build info file in the packages.
html_copy_source = False
html_show_sourcelink = False
