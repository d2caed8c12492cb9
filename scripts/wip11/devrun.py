import sys, json, time, os, nbformat
from nbclient import NotebookClient
seed = int(sys.argv[1])
extra = sys.argv[2] if len(sys.argv) > 2 else ''
for v in ('TF_NUM_INTRAOP_THREADS', 'TF_NUM_INTEROP_THREADS', 'OMP_NUM_THREADS'): os.environ[v] = '1'
os.environ['PYTHONPATH'] = '/work/wt-nb11'
os.environ.setdefault('TLKIT_PROFILE', 'quick')
nb = nbformat.read('/work/wt-nb11/notebooks/11_language_model_lora.ipynb', as_version=4)
for c in nb.cells:
    if c.cell_type == 'code' and 'test_idx = draw(part_test' in c.source and os.environ.get('DEV_TEST_FROM_VAL', '1') == '1':
        c.source = c.source.replace('test_idx = draw(part_test, B.llm_test_per_class)', 'test_idx = draw(np.setdiff1d(part_val, np.concatenate([train_idx, val_idx])), B.llm_test_per_class)  # DEV: never 06 test part')
    if c.cell_type == 'code' and 'B = tlkit.budget()' in c.source:
        c.source = c.source.replace('B = tlkit.budget()', f'import dataclasses; B = dataclasses.replace(tlkit.budget(), llm_split_seed={seed}{extra})')
os.environ['TLKIT_RESULTS_DIR'] = f'/tmp/nb11/res{seed}'
t0 = time.time()
client = NotebookClient(nb, timeout=1200, kernel_name='python3', resources={'metadata': {'path': '/work/wt-nb11/notebooks'}})
try:
    client.execute()
finally:
    for i, c in enumerate(nb.cells):
        if c.cell_type != 'code': continue
        e = c.metadata.get('execution', {})
        outs = []
        for o in c.get('outputs', []):
            if o.output_type == 'stream': outs.append(o.text[-1500:])
            elif o.output_type in ('execute_result', 'display_data'): outs.append(o.data.get('text/plain', '')[-1500:])
            elif o.output_type == 'error': outs.append('ERROR ' + o.ename + ': ' + o.evalue[:1500])
        print(f'--- cell {i}', e.get('iopub.execute_input', '')[11:19], e.get('shell.execute_reply', '')[11:19])
        print('\n'.join(outs)[-2500:])
    print('total', round(time.time() - t0))
    nbformat.write(nb, f'/tmp/nb11/out{seed}{len(extra)}.ipynb')
