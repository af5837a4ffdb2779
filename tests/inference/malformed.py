"""Writes malformed variants of a .safetensors file for --weights-in-ram's
NAME_load, each named after the error code it must produce:
    malformed.py GOOD.safetensors OUTDIR
prints one line per file: NAME EXPECTED_CODE."""
import json, os, struct, sys

good, outdir = sys.argv[1], sys.argv[2]
raw = open(good, 'rb').read()
n = struct.unpack('<Q', raw[:8])[0]
header, data = json.loads(raw[8:8 + n]), raw[8 + n:]
codes = dict(TRUNCATED=-1, HEADER=-2, UNKNOWN=-3, MISSING=-4, DTYPE=-5, SHAPE=-6, OFFSETS=-7, VALUE=-8,
             PREPROCESS=-9)


def image(h, d=data, text=None):
    t = (text if text is not None else json.dumps(h, separators=(',', ':'))).encode()
    t += b' ' * (-len(t) % 8)
    return struct.pack('<Q', len(t)) + t + d


def write(name, code, blob):
    open(os.path.join(outdir, name + '.st'), 'wb').write(blob)
    print(name, codes[code])


def edit(f):
    h = json.loads(json.dumps(header))
    f(h)
    return h


first = next(k for k in header if k != '__metadata__')
last = max((k for k in header if k != '__metadata__'), key=lambda k: header[k]['data_offsets'][1])
write('empty', 'TRUNCATED', b'')
write('short_length', 'TRUNCATED', raw[:5])
write('length_past_end', 'TRUNCATED', struct.pack('<Q', len(raw)) + raw[8:])
write('cut_data', 'OFFSETS', raw[:-4])
write('not_json', 'HEADER', image(None, text='{"a" 1}'))
write('array', 'HEADER', image(None, text='[]'))
write('trailing', 'HEADER', image(None, text=json.dumps(header) + ' x'))
write('escape', 'HEADER', image(None, text=json.dumps(header).replace(first, first[:2] + '\\u0063' + first[3:], 1)))
write('extra_field', 'HEADER', image(edit(lambda h: h[first].update(extra=1))))
write('no_dtype', 'HEADER', image(edit(lambda h: h[first].pop('dtype'))))
write('three_offsets', 'HEADER', image(edit(lambda h: h[first].update(data_offsets=[0, 4, 8]))))
write('unknown', 'UNKNOWN', image(edit(lambda h: h.update({'fc9.weight': h[first]}))))
write('twice', 'UNKNOWN', image(None, text=json.dumps(header)[:-1] + ',"%s":%s}' % (first, json.dumps(header[first]))))
write('missing', 'MISSING', image(edit(lambda h: h.pop(last))))
write('f16', 'DTYPE', image(edit(lambda h: h[first].update(dtype='F16'))))
write('transposed', 'SHAPE', image(edit(lambda h: h[first].update(shape=h[first]['shape'][::-1] + [1]))))
write('reshaped', 'SHAPE', image(edit(lambda h: h[first].update(shape=[1] + h[first]['shape'][1:]))))
write('offsets_short', 'OFFSETS', image(edit(lambda h: h[first]['data_offsets'].__setitem__(1, h[first]['data_offsets'][1] - 4))))
write('offsets_past', 'OFFSETS', image(edit(lambda h: h[last].update(data_offsets=[len(data), len(data) + 40]))))
nan = bytearray(data)
nan[header[last]['data_offsets'][0]:header[last]['data_offsets'][0] + 4] = struct.pack('<f', float('nan'))
write('nan', 'VALUE', image(header, bytes(nan)))
if header.get('__metadata__', {}).get('nnc.preprocess', 'none') != 'none':
    write('no_scale', 'PREPROCESS', image(edit(lambda h: h['__metadata__'].pop('nnc.scale'))))
    write('short_scale', 'PREPROCESS', image(edit(lambda h: h['__metadata__'].update({'nnc.scale': '1,2'}))))
    write('bad_number', 'PREPROCESS', image(edit(lambda h: h['__metadata__'].update(
        {'nnc.shift': h['__metadata__']['nnc.shift'].replace('0', '0x', 1)}))))
    write('other_method', 'PREPROCESS', image(edit(lambda h: h['__metadata__'].update({'nnc.preprocess': 'standardize'}))))
