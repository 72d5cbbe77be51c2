// A minimal Prometheus remote-write 1.0 sender for the browser tests: the WriteRequest protobuf
// (labels sorted by name) compressed as a snappy block made of literals only — valid snappy that
// any decoder reads — so the tests can put series into a real store without extra packages.

function varint(value) {
  const out = [];
  let v = BigInt(value);
  while (v >= 0x80n) {
    out.push(Number((v & 0x7fn) | 0x80n));
    v >>= 7n;
  }
  out.push(Number(v));
  return Buffer.from(out);
}

const field = (number, wireType) => varint((number << 3) | wireType);
const bytesField = (number, payload) => Buffer.concat([field(number, 2), varint(payload.length), payload]);
const stringField = (number, text) => bytesField(number, Buffer.from(text, 'utf8'));

function sample(value, timestampMs) {
  const double = Buffer.alloc(8);
  double.writeDoubleLE(value);
  return Buffer.concat([field(1, 1), double, field(2, 0), varint(timestampMs)]);
}

/** `series`: [{labels: {__name__, ...}, value, timestampMs}] → the encoded WriteRequest. */
export function encodeWriteRequest(series) {
  const timeseries = series.map(({ labels, value, timestampMs }) => {
    const labelFields = Object.keys(labels)
      .sort()
      .map((name) => bytesField(1, Buffer.concat([stringField(1, name), stringField(2, String(labels[name]))])));
    return bytesField(1, Buffer.concat([...labelFields, bytesField(2, sample(value, timestampMs))]));
  });
  return Buffer.concat(timeseries);
}

/** A snappy block of `data` written as literals (chunks of at most 64 KiB). */
export function snappyLiterals(data) {
  const parts = [varint(data.length)];
  for (let offset = 0; offset < data.length; offset += 65_536) {
    const chunk = data.subarray(offset, Math.min(offset + 65_536, data.length));
    const n = chunk.length - 1;
    if (n < 60) parts.push(Buffer.from([n << 2]));
    else if (n < 256) parts.push(Buffer.from([60 << 2, n]));
    else parts.push(Buffer.from([61 << 2, n & 0xff, n >> 8]));
    parts.push(chunk);
  }
  return Buffer.concat(parts);
}

/** Sends `series` to `url` (…/api/v1/write); throws unless the receiver accepted them. */
export async function remoteWrite(url, series, headers = {}) {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-protobuf',
      'content-encoding': 'snappy',
      'x-prometheus-remote-write-version': '0.1.0',
      ...headers,
    },
    body: snappyLiterals(encodeWriteRequest(series)),
  });
  if (response.status !== 204 && response.status !== 200) {
    throw new Error(`remote write to ${url}: ${response.status} ${await response.text()}`);
  }
}
