#!/usr/bin/env python3
"""long_functions.py — lists C/CUDA functions longer than a limit (default 100 lines) outside
tests/ and kernels/dev/, longest first (CONTRIBUTING.md: a function reads top to bottom in under
~100 lines). Usage: python3 scripts/long_functions.py [REPO_DIR] [LIMIT]"""
import re, subprocess, sys
root = sys.argv[1] if len(sys.argv)>1 else '.'
lim = int(sys.argv[2]) if len(sys.argv)>2 else 100
files = subprocess.check_output(['git','-C',root,'ls-files','*.c','*.cu','*.cpp']).decode().split()
out=[]
for f in files:
    if f.startswith(('kernels/dev','tests/')) : continue
    lines=open(root+'/'+f).read().split('\n')
    i=0
    while i < len(lines):
        l=lines[i]
        if re.match(r'^[A-Za-z_][^=;]*\b(\w+)\s*\(', l) and not l.startswith(('typedef','struct ','enum','#')) and not l.rstrip().endswith(';'):
            k=i
            while k < len(lines) and not lines[k].rstrip().endswith('{') and not lines[k].rstrip().endswith(';'): k+=1
            if k < len(lines) and lines[k].rstrip().endswith('{'):
                j=k+1
                while j < len(lines) and lines[j] != '}': j+=1
                n=j-i+1
                name=re.match(r'^[A-Za-z_][^=;]*?\b(\w+)\s*\(', l).group(1)
                if n>lim: out.append((n,f,name))
                i=j
        i+=1
for n,f,name in sorted(out, reverse=True): print(n,f,name)
