#!/usr/bin/env python3
# ANCHOR ONLY: the seed's Python ingestor, verbatim from
# ../shared/seeds/dns-analytics-bind9-foundation.md (Section 3, /opt/dns-ingestor/ingestor.py).
# Used solely as the baseline of bench/src/querylog-tap.ts when the seed document is not
# available; it is not part of GhostDNS and must not be edited or reused.
"""
DNS Query Log Ingestor — codeandcore
Tails queries.log and query-errors.log simultaneously.
Resolves BUG-01 (response_rcode), BUG-03 (root), BUG-04 (hardcoded password).
"""
import re, time, logging, os, signal, sys, threading
from datetime import datetime
import psycopg2
from psycopg2.extras import execute_values

DB = {
    'dbname':   os.environ['DB_NAME'],
    'user':     os.environ['DB_USER'],
    'password': os.environ['DB_PASSWORD'],
    'host':     os.environ.get('DB_HOST', '127.0.0.1'),
    'port':     int(os.environ.get('DB_PORT', 5432)),
}

QUERIES_LOG     = '/var/log/named/queries.log'
ERRORS_LOG      = '/var/log/named/query-errors.log'
BATCH_SIZE      = 100
FLUSH_INTERVAL  = 5

# Standard query line — produces NOERROR records
QUERY_RE = re.compile(
    r'^(?P<ts>\d{2}-\w{3}-\d{4} \d{2}:\d{2}:\d{2})\.\d+'
    r'\s+client\s+(?:@\S+\s+)?(?P<ip>[\d\.a-fA-F:]+)#(?P<port>\d+)'
    r'\s+\([^)]+\):\s+query:\s+(?P<domain>[\w.\-]+)\s+IN\s+(?P<qtype>\w+)'
    r'\s+(?P<flags>[+\-\w\s]*?)(?:\s+\([\d.]+\))?$'
)

# Error line — produces NXDOMAIN / SERVFAIL records
ERROR_RE = re.compile(
    r'^(?P<ts>\d{2}-\w{3}-\d{4} \d{2}:\d{2}:\d{2})\.\d+'
    r'\s+client\s+(?:@\S+\s+)?(?P<ip>[\d\.a-fA-F:]+)#(?P<port>\d+)'
    r'.*?(?P<domain>[\w.\-]+)\s+IN\s+(?P<qtype>\w+).*?'
    r'(?P<rcode>NXDOMAIN|SERVFAIL|REFUSED|FORMERR)'
)

def apex(d):
    p = d.rstrip('.').split('.')
    return '.'.join(p[-2:]) if len(p) >= 2 else d

def parse_ts(s):
    try:    return datetime.strptime(s, '%d-%b-%Y %H:%M:%S')
    except: return datetime.utcnow()

def parse_query(line):
    m = QUERY_RE.match(line.strip())
    if not m: return None
    d = m.groupdict()
    dom = d.get('domain', '').lower().rstrip('.')
    if not dom: return None
    flags = d.get('flags', '').strip()
    return {
        'queried_at':    parse_ts(d['ts']),
        'client_ip':     d.get('ip', '0.0.0.0'),
        'client_port':   int(d.get('port', 0)),
        'domain':        dom,
        'apex_domain':   apex(dom),
        'qtype':         d.get('qtype', 'A').upper(),
        'flags':         flags,
        'response_rcode':'NOERROR',
        'cached':        'CL' in flags,
    }

def parse_error(line):
    m = ERROR_RE.search(line.strip())
    if not m: return None
    d = m.groupdict()
    dom = d.get('domain', '').lower().rstrip('.')
    if not dom: return None
    return {
        'queried_at':    parse_ts(d['ts']),
        'client_ip':     d.get('ip', '0.0.0.0'),
        'client_port':   int(d.get('port', 0)),
        'domain':        dom,
        'apex_domain':   apex(dom),
        'qtype':         d.get('qtype', 'A').upper(),
        'flags':         '',
        'response_rcode':d.get('rcode', 'NXDOMAIN'),
        'cached':        False,
    }

def connect():
    while True:
        try:
            c = psycopg2.connect(**DB)
            c.autocommit = False
            logging.info('DB connected')
            return c
        except psycopg2.OperationalError as e:
            logging.error(f'DB: {e}')
            time.sleep(10)

def flush(conn, batch):
    if not batch: return 0
    sql = (
        'INSERT INTO dns_queries '
        '(queried_at,client_ip,client_port,domain,apex_domain,'
        'qtype,flags,response_rcode,cached) VALUES %s ON CONFLICT DO NOTHING'
    )
    rows = [(r['queried_at'], r['client_ip'], r['client_port'],
             r['domain'], r['apex_domain'], r['qtype'],
             r['flags'], r['response_rcode'], r['cached']) for r in batch]
    try:
        with conn.cursor() as cur:
            execute_values(cur, sql, rows, page_size=500)
        conn.commit()
        return len(batch)
    except psycopg2.Error as e:
        logging.error(f'Insert: {e}')
        conn.rollback()
        return 0

# Shared batch and lock across both tailer threads
_lock  = threading.Lock()
_batch = []

def tailer(log_file, parser_fn, label):
    """Tail a log file and append parsed records to shared batch."""
    inode, f = 0, None
    logging.info(f'[{label}] watching {log_file}')
    while True:
        try:
            cur_inode = os.stat(log_file).st_ino
        except FileNotFoundError:
            time.sleep(5)
            continue
        if cur_inode != inode:
            try:
                f = open(log_file, 'r')
                f.seek(0, 2)
                inode = cur_inode
            except IOError:
                time.sleep(5)
                continue
        while True:
            line = f.readline()
            if not line: break
            rec = parser_fn(line)
            if rec:
                with _lock:
                    _batch.append(rec)
        time.sleep(0.5)

def flusher(conn):
    """Periodically flush the shared batch to PostgreSQL."""
    total = 0
    while True:
        time.sleep(FLUSH_INTERVAL)
        with _lock:
            if not _batch: continue
            work = _batch[:]
            _batch.clear()
        n = flush(conn, work)
        total += n
        if n:
            logging.info(f'Flushed {n} | total {total:,}')

def main():
    os.makedirs('/var/log/dns-ingestor', exist_ok=True)
    logging.basicConfig(
        level=logging.INFO,
        format='%(asctime)s [%(levelname)s] %(message)s',
        handlers=[
            logging.StreamHandler(sys.stdout),
            logging.FileHandler('/var/log/dns-ingestor/ingestor.log'),
        ]
    )
    def bye(s, f): sys.exit(0)
    signal.signal(signal.SIGTERM, bye)
    signal.signal(signal.SIGINT,  bye)

    conn = connect()

    # Thread 1: tail queries.log (NOERROR traffic)
    t1 = threading.Thread(target=tailer, args=(QUERIES_LOG, parse_query, 'QUERY'), daemon=True)
    # Thread 2: tail query-errors.log (NXDOMAIN / SERVFAIL)
    t2 = threading.Thread(target=tailer, args=(ERRORS_LOG,  parse_error,  'ERROR'), daemon=True)
    t1.start()
    t2.start()

    # Main thread flushes
    flusher(conn)

if __name__ == '__main__':
    main()
