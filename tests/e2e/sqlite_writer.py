# The durability tests' app (tests/e2e/storage_test.sh, nested_storage_test.sh): python3 on its
# EROFS root with a volume at /data. "write": commit one transaction after another, printing
# each id once its commit returned. "check": print integrity_check and every stored id.
import sqlite3, sys
db = sqlite3.connect("/data/tx.db", isolation_level=None)
# WAL + FULL: a commit returns after the WAL is fsynced. (DELETE mode + FULL does not sync the
# directory after unlinking the journal, so a power cut right after a commit may undo it.)
db.execute("PRAGMA journal_mode=WAL")
db.execute("PRAGMA synchronous=FULL")
db.execute("create table if not exists tx(id integer primary key)")
if sys.argv[1] == "check":
    print("integrity", db.execute("PRAGMA integrity_check").fetchone()[0])
    print("ids", " ".join(str(r[0]) for r in db.execute("select id from tx order by id")))
    sys.exit(0)
start = (db.execute("select max(id) from tx").fetchone()[0] or 0) + 1
for i in range(start, start + 100000):
    db.execute("begin")
    db.execute("insert into tx values (?)", (i,))
    db.execute("commit")
    print("committed", i, flush=True)
