# Independent re-implementation of docs/apikey-format.md §10 (record MAC).
import hmac, hashlib, json, struct, ipaddress, datetime, re, sys
doc = open('/work/wt/keys-core/docs/apikey-format.md').read()
sec = doc[doc.index('## 9.'):]
blk = sec[sec.index('```json\n')+8:]
rec = json.loads(blk[:blk.index('```')])
pepper = bytes(range(32))
record_key = hmac.new(pepper, b"palisade-apikey/record-key/v2" + b"\x01", hashlib.sha256).digest()
def ms(t):
    d = datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    return int(d.timestamp()*1000)
def u32(n): return struct.pack('>I', n)
def u64(n): return struct.pack('>Q', n)
def i64(n): return struct.pack('>q', n)
def s(b): return u32(len(b)) + b
def opt(v, f): return b'\x00' if v is None else b'\x01' + f(v)
def crock(tid):  # ten_<26 crockford base32> -> 16 bytes
    alpha = "0123456789abcdefghjkmnpqrstvwxyz"
    n = 0
    for c in tid: n = n*32 + alpha.index(c)
    return n.to_bytes(16, 'big')
t = rec['scope']; assert '/' not in t
scope = b'\x01T' + crock(t[4:])
out = b"palisade-apikey/record-mac/v2\x00" + u32(rec['seal']['pepper_version']) + bytes([rec['version']])
out += rec['key_id'].encode()
out += bytes([len(scope)]) + scope
out += bytes([{'live':0,'test':1}[rec['env']]])
out += opt(rec['owner'], lambda o: s(o.encode()))
out += u32(len(rec['scopes'])) + b''.join(s(x.encode()) for x in rec['scopes'])
out += i64(ms(rec['created_at']))
for f in ['not_before','expires_at','revoked_at']:
    out += opt(rec[f], lambda v: i64(ms(v)))
out += u32(len(rec['allowed_ips']))
for c in rec['allowed_ips']:
    n = ipaddress.ip_network(c)
    out += (b'\x04' if n.version == 4 else b'\x06') + n.network_address.packed + bytes([n.prefixlen])
out += opt(rec['remaining_uses_cap'], u64)
out += opt(rec['refill'], lambda r: u64(r['amount']) + u64(r['interval_secs']))
h = rec['hash']; assert h['alg'] == 'hmac_sha256'
out += b'\x01' + u32(h['pepper_version']) + bytes.fromhex(h['mac'])
out += opt(rec['rotated_from'], lambda v: v.encode())
out += opt(rec['rotated_to'], lambda v: v.encode())
out += opt(rec['grace_until'], lambda v: i64(ms(v)))
out += u64(rec['generation'])
digest = hashlib.sha256(out).digest()
mac = hmac.new(record_key, digest, hashlib.sha256).hexdigest()
print("KEY", record_key.hex()); print("LEN", len(out)); print("ENC", out.hex())
print("SHA256(E)", digest.hex()); print("MAC", mac)
print("seal in doc matches:", mac == rec['seal']['mac'])
