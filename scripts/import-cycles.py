#!/usr/bin/env python3
"""Finds import cycles between the files of src/ (issue 7: "no import cycles between files").

An edge A -> B is any `crate::...` or `super::...` path in A (outside #[cfg(test)] and comments)
naming module B. Prints the cycles and exits 1 when there is one. Run from the repository root."""
import re,glob,sys
files=glob.glob('src/**/*.rs',recursive=True)
def mod_of(f):
    p=f[4:-3]
    if p.endswith('/mod'): p=p[:-4]
    return p.replace('/','::')
mods={mod_of(f):f for f in files}
edges={}
for f in files:
    src=open(f).read()
    i=src.find('#[cfg(test)]')
    if i>=0: src=src[:i]
    src='\n'.join(l for l in src.split('\n') if not l.strip().startswith('//'))
    m=mod_of(f); edges[m]=set()
    for t in re.findall(r'crate::([a-z_0-9]+(?:::[a-z_0-9]+)*)', src):
        parts=t.split('::')
        for k in range(len(parts),0,-1):
            c='::'.join(parts[:k])
            if c in mods and c!=m: edges[m].add(c); break
    for t in re.findall(r'super::([a-z_0-9]+)', src):
        base=m if f.endswith('mod.rs') else (m.rsplit('::',1)[0] if '::' in m else '')
        c=(base+'::'+t) if base else t
        if c in mods and c!=m: edges[m].add(c)
sys.setrecursionlimit(10000)
idx={};low={};st=[];on=set();res=[];n=[0]
def sc(v):
    idx[v]=low[v]=n[0];n[0]+=1;st.append(v);on.add(v)
    for w in edges.get(v,()):
        if w not in idx: sc(w); low[v]=min(low[v],low[w])
        elif w in on: low[v]=min(low[v],idx[w])
    if low[v]==idx[v]:
        comp=[]
        while True:
            w=st.pop();on.discard(w);comp.append(w)
            if w==v: break
        if len(comp)>1: res.append(comp)
for v in list(edges):
    if v not in idx: sc(v)
print("file-level import cycles:", res)
for c in res:
    for a in c:
        print(" ",a,"->",sorted(e for e in edges[a] if e in c))
sys.exit(1 if res else 0)
