"""Test rig for failoverd: real mariadbd servers (rig.mariadb) and failoverd nodes
(rig.controllers), started by the tests themselves and stopped by pid (DESIGN.md §10).
Failover scenarios and their checks: rig.failover; hosts with their own addresses in
network namespaces joined by a bridge, with partitions: rig.netns; an application
writer that records acknowledged INSERTs: rig.writer.

Python 3 standard library only, except rig.writer, which uses PyMySQL (Debian
package python3-pymysql, installed by deploy/install-deps.sh)."""
