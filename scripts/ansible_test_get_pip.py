"""Stand-in for ansible-test's pip bootstrap script (get-pip.py).

ansible-test --venv creates its virtualenvs without pip and downloads get-pip.py from
ci-files.testing.ansible.com, which cannot be reached from here. This stand-in is
installed in its cache (~/.ansible/test/cache/get_pip_<version>.py) by
scripts/ansible_checks.sh: it bootstraps pip with the standard library's ensurepip,
then lets pip install the packages ansible-test asked for (pip==<version>) from PyPI.
"""

import subprocess
import sys

subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade"])
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "pip", "install", *args])
