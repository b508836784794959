"""Test rig for failoverd: real mariadbd servers (rig.mariadb) and failoverd nodes
(rig.controllers), started by the tests themselves and stopped by pid (DESIGN.md §10).

Python 3 standard library only."""
