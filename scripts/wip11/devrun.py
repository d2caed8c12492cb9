import sys, json, time, os, nbformat
from nbclient import NotebookClient
seed = int(sys.argv[1])
nb = nbformat.read('/work/main/notebooks/11_language_model_lora.ipynb', as_version=4)
for c in nb.cells:
    if c.cell_type == 'code' and 'B = tlkit.budget()' in c.source:
        c.source = c.source.replace('B = tlkit.budget()', f'import dataclasses; B = dataclasses.replace(tlkit.budget(), llm_split_seed={seed})')
os.environ['TLKIT_RESULTS_DIR'] = f'/tmp/nb11/res{seed}'
t0 = time.time()
client = NotebookClient(nb, timeout=1200, kernel_name='python3', resources={'metadata': {'path': '/work/main/notebooks'}})
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
    nbformat.write(nb, f'/tmp/nb11/out{seed}.ipynb')
