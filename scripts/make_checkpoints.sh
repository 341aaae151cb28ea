#!/usr/bin/env bash
# Re-makes every bundled checkpoint with explorer's own `explorer train`, one job at a time
# (two jobs on 2 cores slow each other ~5x). Usage: scripts/make_checkpoints.sh [shapes|phi4|wcrg|phi4-16|phi4-64|examples|scattering|turbulence|capacity|cosmic_web|all]
# (OUT=folder writes elsewhere than checkpoints/; STAGE=folder holds the first stage of the N = 10
# models, default build/stage1, not bundled).
# No --bf16 for new models: on this project's AMD EPYC CPU (no AVX512-BF16) bf16 autocast trains
# 10x slower than fp32 (0.27 against 2.7 steps/s at batch 64, 2 threads).
# Each command is recorded inside the checkpoint it makes (`explorer info FILE` shows it).
set -euo pipefail
cd "$(dirname "$0")/.."
EXPLORER=${EXPLORER:-.venv/bin/explorer}
what=${1:-all}
out=${OUT:-checkpoints}
common=(--widths 16,32,64 --blocks 1 --batch 64 --lr 2e-3 --seed 0 --save-every 250)
# the turbulence data (#29 item 2): simulated on 256x256, truncated to the size given (bench_turbulence_data.py PARAMS)
turb_sim='"grid": 256, "k_f": 5.0, "k_drag": 3.0, "mu": 0.5, "dt": 0.003'
turb="{\"size\": 64, $turb_sim}"
turb32="{\"size\": 32, $turb_sim}"

scattering_iterations() {  # MODEL JSON: the fewest L-BFGS iterations that converge, written into the model's file
  [[ -f $2 ]] || .venv/bin/python tests/benchmarks/bench_scattering_iterations.py "$1" --n 4 --steps 400 --json "$2"
  local steps
  steps=$(.venv/bin/python -c "import json, sys; print(json.load(open(sys.argv[1]))['models'][0]['enough'])" "$2")
  $EXPLORER set-default "$1" --sampler lbfgs --steps "$steps" --why "the first of 50, 100, 200, 300, 400 L-BFGS \
iterations whose rms statistics error is at most 0.1 (what the 64x64 models reach in 100) and whose P(k) is within \
5 % of the model's own target (else 400), 4 fields of seed 0: tests/benchmarks/bench_scattering_iterations.py, \
$(basename "$2")"
}

phi4_models() {  # L: WCRG (J = 2) and plain diffusion of phi4 at beta_c, side L
  # The compute experiment of #12 C (tests/benchmarks/bench_wcrg.py): one recipe at every L,
  # fp32, cosine decay, 3000 steps per network, the denoising error monitored. (8000 steps for
  # the coarse model at L = 32 were tried: its samples' power at |k| = 2 stayed 8 % low.)
  local size=$1 name=phi4-L$1
  [[ $size == 32 ]] && name=phi4  # the L = 32 pair keeps its first names
  local beta chain=""
  beta=$(.venv/bin/python -c "from explorer.core.data import phi4; print(phi4.CRITICAL['beta_c'])")
  # L = 64: Metropolis alone would take hours (tau_int ~ L^2); one Swendsen-Wang update of the signs after each
  # sweep gives the same law (checked at L = 32, docs/results/phi4.md) with tau_int ~ 10 sweeps
  [[ $size == 64 ]] && chain=', "clusters": 1'
  local args=(--data phi4 --data-params "{\"beta\": $beta, \"lam\": 0.5$chain}" --n 10000 --split all --size "$size"
              --steps 3000 --batch 64 --lr 2e-3 --lr-schedule cosine --seed 0 --save-every 250 --monitor-every 250)
  [[ $size == 64 || -f $out/$name-wcrg.wcrg/index.json ]] || $EXPLORER train wcrg "${args[@]}" --cond-steps 3000 \
    --levels 2 --wavelet haar --widths 32,64 --cond-widths 32,64 --name "$name-wcrg" --out "$out/$name-wcrg.wcrg" \
    --description "wavelet RG of phi^4 at the measured critical point, L=$size, N=10000"
  # #30 item 3: the same recipe with narrower networks, widths 16,32 at every scale (phi4-wcrg: 32,64), so
  # that a WCRG step costs about a quarter of a plain one; kept beside phi4-wcrg (docs/results/hierarchy.md);
  # the only WCRG at L = 64
  [[ $size != 16 && ! -f $out/$name-wcrg-narrow.wcrg/index.json ]] && $EXPLORER train wcrg "${args[@]}" \
    --cond-steps 3000 --levels 2 --wavelet haar --widths 16,32 --cond-widths 16,32 --name "$name-wcrg-narrow" \
    --out "$out/$name-wcrg-narrow.wcrg" \
    --description "wavelet RG of phi^4 at the measured critical point, L=$size, N=10000, narrow networks"
  [[ -f $out/$name-N10000.safetensors ]] || $EXPLORER train diffusion "${args[@]}" \
    --widths 16,32,64 --blocks 1 --name "$name-N10000" --out "$out/$name-N10000.safetensors" \
    --description "2-D lattice phi^4 at the measured critical point, L=$size, N=10000"
}

shapes_model() {  # N split steps [extra train arguments]; writes into $folder (default: $out)
  local n=$1 split=$2 steps=$3
  shift 3
  $EXPLORER train diffusion --data shapes --n "$n" --split "$split" --size 32 --steps "$steps" "${common[@]}" "$@" \
    --name "shapes-N$n-$split" --description "synthetic geometric images, N=$n, split $split" \
    --out "${folder:-$out}/shapes-N$n-$split.safetensors"
}

if [[ $what == shapes || $what == all ]]; then
  # N <= 10 memorise: trained until the training-set error at the lowest noise levels stops
  # falling (the recorded monitor curve), with a cosine learning-rate decay.
  # N = 10 in two stages (#12 A): 6000 steps over every noise level, written into $STAGE (not
  # bundled), then 4000 steps started from it (--init) with half of each batch at the lowest
  # levels, sigma/alpha in [0.0447, 0.2], at lr 1e-3. S2's training-set MSE at 0.0447 fell from
  # 1.50e-5 to 6.7e-6 (it had fallen 1.2x in the first stage's last 1300 steps). A stage on
  # [0.0447, 0.2] alone reached 3.0e-6 in 3000 steps but made the error at sigma/alpha = 0.5 ... 2
  # two to nine times larger: the sampler walks through those levels.
  stage=${STAGE:-build/stage1}
  declare -A steps=([1]=1500 [10]=6000 [100]=2000 [1000]=2500 [10000]=4000)
  for n in 10 1 10000 100 1000; do
    extra=()
    (( n <= 10 )) && extra=(--lr-schedule cosine --monitor-every 100)
    for split in S1 S2; do
      f=$out/shapes-N$n-$split.safetensors
      [[ -f $f ]] && continue
      if (( n != 10 )); then
        shapes_model "$n" "$split" "${steps[$n]}" "${extra[@]}"
        continue
      fi
      mkdir -p "$stage"
      [[ -f $stage/shapes-N10-$split.safetensors ]] || folder=$stage shapes_model 10 "$split" 6000 "${extra[@]}"
      $EXPLORER train diffusion --data shapes --n 10 --split "$split" --size 32 --steps 4000 --widths 16,32,64 \
        --blocks 1 --batch 64 --lr 1e-3 --seed 0 --save-every 250 --lr-schedule cosine --monitor-every 100 \
        --init "$stage/shapes-N10-$split.safetensors" --noise-levels 0.0447,0.2 \
        --name "shapes-N10-$split" --description "synthetic geometric images, N=10, split $split" --out "$f"
    done
  done
fi

if [[ $what == phi4 || $what == all ]]; then
  [[ -f explorer/core/data/phi4_critical.json ]] || $EXPLORER phi4 critical --sizes 16,32 \
    --betas 0.64,0.66,0.68,0.70,0.72 --chains 256 --burn-in 3000 --measure 3000 --out explorer/core/data/phi4_critical.json
  # the crossing again with a burn-in of the 4050 sweeps measured at L = 32 (docs/results/phi4.md compares the two)
  mkdir -p "$out/phi4"
  [[ -f $out/phi4/critical-burn-in-4050.json ]] || $EXPLORER phi4 critical --sizes 16,32 --betas 0.64,0.66,0.68,0.70,0.72 \
    --chains 256 --burn-in 4050 --measure 3000 --out "$out/phi4/critical-burn-in-4050.json"
  phi4_models 32  # phi4-N10000 and phi4-wcrg
fi

if [[ $what == wcrg || $what == all ]]; then
  # (phi4-wcrg is made with phi4-N10000: phi4_models 32)
  [[ -f $out/shapes-wcrg.wcrg/index.json ]] || $EXPLORER train wcrg --data shapes --n 10000 --split S1 --size 32 \
    --steps 1500 --cond-steps 1500 --levels 2 --wavelet haar --widths 32,64 --cond-widths 32,64 --batch 64 --lr 2e-3 \
    --seed 0 --bf16 --save-every 250 --name shapes-wcrg \
    --description "wavelet RG of the synthetic geometric images, N=10000 (the S1 set)" --out "$out/shapes-wcrg.wcrg"
fi

[[ $what == phi4-16 || $what == all ]] && phi4_models 16

if [[ $what == phi4-64 || $what == all ]]; then
  # L = 64 (#30 item 3): plain and narrow WCRG by the same recipe, then the same benchmark against 4000 fresh
  # fields of the same chain (the size is added to hierarchy.json once, complete)
  phi4_models 64
  # the chain the L = 64 data use against Metropolis: tau_int, cost per field, the law at L = 32 (docs/results/phi4.md)
  [[ -f $out/phi4/chain.json ]] || .venv/bin/python tests/benchmarks/bench_phi4_chain.py --json "$out/phi4/chain.json"
  .venv/bin/python -c 'import json, sys
sys.exit(not json.load(open(sys.argv[1]))["sizes"].get("64", {}).get("complete"))' "$out/phi4/hierarchy.json" ||
    .venv/bin/python tests/benchmarks/bench_wcrg.py --size 64 --reference-n 4000 --floor-n 400 --chains 1100 --n 400 \
      --batch 100 --steps 3,5,10,15,20,30,50 --json "$out/phi4/hierarchy.json"
fi

if [[ $what == phi4 || $what == phi4-16 || $what == phi4-64 || $what == all ]]; then
  # WCRG against plain diffusion at L = 16 and 32 (#30 items 1-2): FLOPs, paired bootstrap, the floor
  # (docs/results/hierarchy.md). The fresh MCMC fields are cached on disk; the JSON, once made, is kept.
  [[ -f $out/phi4/hierarchy.json ]] || for L in 16 32; do
    if [[ $L == 16 ]]; then ref=(--reference-n 4000 --floor-n 400 --chains 880)
    else ref=(--reference-n 1200 --floor-n 400 --chains 320); fi
    .venv/bin/python tests/benchmarks/bench_wcrg.py --size $L "${ref[@]}" --n 400 --batch 100 --steps 3,5,10,15,20,30,50 \
      --json "$out/phi4/hierarchy.json"
  done
  # #30 item 5: each model runs by default its cheapest run that reaches (the JSON's "defaults")
  .venv/bin/python -c 'import json, sys
for L, d in json.load(open(sys.argv[1]))["sizes"].items():
    for f, r in d.get("defaults", {}).items():
        print(f, r["sampler"], r["steps"], L, r["label"])' "$out/phi4/hierarchy.json" |
  while read -r file sampler steps L label; do
    $EXPLORER set-default "$out/$file" --sampler "$sampler" --steps "$steps" \
      --why "the cheapest run within the floor of the best at L = $L: $label (docs/results/hierarchy.md)"
  done
fi

if [[ $what == examples || $what == all ]]; then
  # Fewer examples (#30 item 4): phi4 at L = 32 from N = 30, 100, 300, 1000 fields (30, 1000 for scattering) by the recipes of
  # phi4-N10000, phi4-wcrg-narrow and phi4-scattering (each N its own MCMC fields, cached), then the error of
  # every model at one setting against bench_wcrg's fresh fields (docs/results/hierarchy.md)
  beta=$(.venv/bin/python -c "from explorer.core.data import phi4; print(phi4.CRITICAL['beta_c'])")
  ex=$out/phi4/examples
  mkdir -p "$ex"
  phi=(--data phi4 --data-params "{\"beta\": $beta, \"lam\": 0.5}" --split all --size 32)
  recipe=(--steps 3000 --batch 64 --lr 2e-3 --lr-schedule cosine --seed 0 --save-every 250 --monitor-every 250)
  for n in 30 1000; do
    [[ -f $ex/phi4-scattering-N$n.scat.safetensors ]] || $EXPLORER train scattering "${phi[@]}" --n $n \
      --name "phi4-scattering-N$n" --out "$ex/phi4-scattering-N$n.scat.safetensors" \
      --description "scattering spectra of 2-D lattice phi^4 at the measured critical point, L=32, N=$n"
  done
  for n in 1000 100 300 30; do
    [[ -f $ex/phi4-wcrg-narrow-N$n.wcrg/index.json ]] || $EXPLORER train wcrg "${phi[@]}" "${recipe[@]}" --n $n \
      --cond-steps 3000 --levels 2 --wavelet haar --widths 16,32 --cond-widths 16,32 --name "phi4-wcrg-narrow-N$n" \
      --out "$ex/phi4-wcrg-narrow-N$n.wcrg" \
      --description "wavelet RG of phi^4 at the measured critical point, L=32, N=$n, narrow networks"
    [[ -f $ex/phi4-N$n.safetensors ]] || $EXPLORER train diffusion "${phi[@]}" "${recipe[@]}" --n $n \
      --widths 16,32,64 --blocks 1 --name "phi4-N$n" --out "$ex/phi4-N$n.safetensors" \
      --description "2-D lattice phi^4 at the measured critical point, L=32, N=$n"
  done
  [[ -f $out/phi4/examples.json ]] || .venv/bin/python tests/benchmarks/bench_examples.py --n 400 --batch 100 \
    --json "$out/phi4/examples.json"
fi

if [[ $what == scattering || $what == all ]]; then
  # Scattering-spectra models (#13): the data's statistics, seconds to make once the data exist.
  # Turbulence (#29 item 2): 256x256 runs (drag mu = 0.5 on |k| <= 3 only, forcing at k_f = 5, hyperviscosity),
  # the fields Fourier-truncated to 64x64 and 32x32 from the same runs (turbulence.grid_run: 21 blocks of 48
  # snapshots of seed 0 (960 and the 32 more the training set draws from), 20 of seed 7919 for the fresh fields,
  # 150-220 s a block on one core the first time, cached block by block).
  [[ -f $out/turbulence-scattering.scat.safetensors ]] || $EXPLORER train scattering --data turbulence \
    --data-params "$turb" --n 256 --split S1 --size 64 --name turbulence-scattering \
    --description "scattering spectra of 2-D forced turbulence (vorticity, 256x256 runs truncated to 64x64), N=256" \
    --out "$out/turbulence-scattering.scat.safetensors"
  beta=$(.venv/bin/python -c "from explorer.core.data import phi4; print(phi4.CRITICAL['beta_c'])")
  # the same runs' fields truncated to 32x32: the first 960 of seed 0, 20 blocks of 48 (the blocks' mean power
  # scatters by 5.3 % (std over the 10 fresh blocks): a model of 256 snapshots = 5 blocks was 12-15 % off the fresh
  # fields' P(k), with 20 the mean's scatter is about 1.2 %). No --spectrum-tolerance here: at 32x32, paired (960
  # fields, 64 samples against the 480 fresh ones), it left P(k) as it was (max 7.6 % against 7.7 %) and the fluxes
  # Pi_Z, Pi_E worse (worst z 6.6 and 6.5 against 4.9 and 5.1)
  [[ -f $out/turbulence32-scattering.scat.safetensors ]] || $EXPLORER train scattering --data turbulence \
    --data-params "$turb32" --n 960 --split all --size 32 --name turbulence32-scattering \
    --description "scattering spectra of 2-D forced turbulence (vorticity, 256x256 runs truncated to 32x32), N=960" \
    --out "$out/turbulence32-scattering.scat.safetensors"
  # Gaussian models (the mean and P(k)), beside them in the Statistics tab's table: the training sets
  # of turbulence32-scattering and of phi4-scattering
  [[ -f $out/turbulence32-gaussian.gauss.safetensors ]] || $EXPLORER train gaussian --data turbulence \
    --data-params "$turb32" --n 960 --split all --size 32 --name turbulence32-gaussian \
    --description "Gaussian field with the power spectrum of 2-D forced turbulence (256x256 runs truncated to 32x32), N=960" \
    --out "$out/turbulence32-gaussian.gauss.safetensors"
  [[ -f $out/phi4-gaussian.gauss.safetensors ]] || $EXPLORER train gaussian --data phi4 \
    --data-params "{\"beta\": $beta, \"lam\": 0.5}" --n 256 --split all --size 32 --name phi4-gaussian \
    --description "Gaussian field with the power spectrum of phi^4 at the measured critical point, L=32, N=256" \
    --out "$out/phi4-gaussian.gauss.safetensors"
  [[ -f $out/phi4-scattering.scat.safetensors ]] || $EXPLORER train scattering --data phi4 \
    --data-params "{\"beta\": $beta, \"lam\": 0.5}" --n 256 --split all --size 32 --name phi4-scattering \
    --description "scattering spectra of 2-D lattice phi^4 at the measured critical point, L=32, N=256" \
    --out "$out/phi4-scattering.scat.safetensors"
  # at the seed's dimension (#29 item 4): the 256x256 fields of the same runs, untruncated, the first 960 of seed 0
  # (20 blocks, as at 32x32: from 96 = 2 blocks, both models were 8-11 % high on every band against 480 fresh fields)
  turb256="{\"size\": 256, $turb_sim}"
  [[ -f $out/turbulence256-scattering.scat.safetensors ]] || $EXPLORER train scattering --data turbulence \
    --data-params "$turb256" --n 960 --split all --size 256 --J 7 --L 4 --scale-invariant --spectrum-tolerance 0.2 \
    --name turbulence256-scattering \
    --description "scattering spectra of 2-D forced turbulence (vorticity, 256x256 runs), 256x256, N=960" \
    --out "$out/turbulence256-scattering.scat.safetensors"
  [[ -f $out/turbulence256-gaussian.gauss.safetensors ]] || $EXPLORER train gaussian --data turbulence \
    --data-params "$turb256" --n 960 --split all --size 256 --name turbulence256-gaussian \
    --description "Gaussian field with the power spectrum of 2-D forced turbulence (vorticity, 256x256 runs), 256x256, N=960" \
    --out "$out/turbulence256-gaussian.gauss.safetensors"
  mkdir -p "$out/turbulence"
  scattering_iterations "$out/turbulence256-scattering.scat.safetensors" "$out/turbulence/iterations256.json"
  # 64 fields against 960 fresh ones (20 blocks of one run; errors over blocks: 5 blocks left the errors 4 degrees
  # of freedom, and z-scores then spread as Student's t with 4, |t| > 2 one time in eight; with 10 blocks the fresh
  # mean P(k) was still 1.9-2.7 % uncertain at k = 6-14, where the training mean differed from it by 5-7 %)
  [[ -f $out/turbulence/field256.json ]] || $EXPLORER field "$out"/turbulence256-gaussian.gauss.safetensors \
    "$out"/turbulence256-scattering.scat.safetensors --n 64 --reference fresh --reference-n 960 \
    --json "$out/turbulence/field256.json"
  # the yardstick of its max |dP/P|: what an exact learner of the 960 training snapshots would show against the 960
  # fresh ones (blocks reassigned between the two sets), and whether the blocks behave as independent units, within a
  # run and between runs (blocks 0-2 of 8 more runs of their own, seeds 7920-7927: on one core the first time ~400 s
  # for a run's block 0 with its spin-up, ~170 s for each later block)
  [[ -f $out/turbulence/bound256.json ]] || .venv/bin/python tests/benchmarks/bench_spectrum_bound.py \
    "$out"/turbulence256-scattering.scat.safetensors --fresh 960 --json "$out/turbulence/bound256.json"
  [[ -f $out/turbulence/runs256.json ]] || .venv/bin/python tests/benchmarks/bench_turbulence_runs.py \
    --json "$out/turbulence/runs256.json"
  # the data's physics on its 256x256 runs (slope, fluxes, |k| = 1), then the third order of turbulence
  # against the 64x64 model, 240 fresh fields = 5 runs (#29; docs/results/turbulence.md)
  [[ -f $out/turbulence/data.json ]] || .venv/bin/python tests/benchmarks/bench_turbulence_data.py \
    --json "$out/turbulence/data.json"
  [[ -f $out/turbulence/odd.json ]] || .venv/bin/python tests/benchmarks/bench_turbulence_odd.py \
    --model "$out/turbulence-scattering.scat.safetensors" --fresh 240 --json "$out/turbulence/odd.json"
fi

if [[ $what == turbulence || $what == all ]]; then
  # A diffusion model of 2-D turbulence (#13), 32x32 (the quick size), circular padding, on the 256x256 runs of
  # #29 item 2 truncated to 32x32: the first 2000 snapshots of seed 0 (the pool holds 32 more: 43 blocks of 48,
  # 76 min of simulation on one core the first time, cached block by block; the fresh fields come from other seeds)
  [[ -f $out/turbulence32-N2000.safetensors ]] || $EXPLORER train diffusion --data turbulence \
    --data-params "$turb32" --n 2000 --split all --size 32 --steps 2500 "${common[@]}" --lr-schedule cosine \
    --name turbulence32-N2000 --description "2-D forced turbulence (vorticity, 256x256 runs truncated to 32x32), N=2000" \
    --out "$out/turbulence32-N2000.safetensors"
  # and a WCRG of the same 2000 fields: J = 2, the widths of phi4-wcrg, fp32, cosine decay, 3000
  # steps for the coarse 8 x 8 model and 2000 per conditional (phi4-wcrg: 3000 each)
  [[ -f $out/turbulence32-wcrg.wcrg/index.json ]] || $EXPLORER train wcrg --data turbulence \
    --data-params "$turb32" --n 2000 --split all --size 32 --steps 3000 --cond-steps 2000 --levels 2 \
    --wavelet haar --widths 32,64 --cond-widths 32,64 --batch 64 --lr 2e-3 --lr-schedule cosine --seed 0 \
    --save-every 250 --name turbulence32-wcrg --out "$out/turbulence32-wcrg.wcrg" \
    --description "wavelet RG of 2-D forced turbulence (vorticity, 256x256 runs truncated to 32x32), N=2000"
  # the four 32x32 models head to head (#29 item 5) against the same 960 fresh fields (20 blocks): the field table, then
  # the parity-odd bispectrum and the spectral fluxes of each (docs/results/turbulence.md)
  models=("$out"/turbulence32-gaussian.gauss.safetensors "$out"/turbulence32-scattering.scat.safetensors
          "$out"/turbulence32-N2000.safetensors "$out"/turbulence32-wcrg.wcrg)
  [[ -f $out/turbulence/field32.json ]] || $EXPLORER field "${models[@]}" --n 64 --reference fresh \
    --reference-n 960 --json "$out/turbulence/field32.json"
  # the yardstick of their max |dP/P|: an exact learner of turbulence32-scattering's 960 training snapshots (the
  # networks' 2000 would narrow it) against the same 960 fresh ones
  [[ -f $out/turbulence/bound32.json ]] || .venv/bin/python tests/benchmarks/bench_spectrum_bound.py \
    "$out"/turbulence32-scattering.scat.safetensors --fresh 960 --json "$out/turbulence/bound32.json"
  for m in "${models[@]}"; do
    name=$(basename "$m"); name=${name%%.*}
    [[ -f $out/turbulence/odd32-$name.json ]] || .venv/bin/python tests/benchmarks/bench_turbulence_odd.py \
      --model "$m" --fresh 960 --json "$out/turbulence/odd32-$name.json"
  done
fi

if [[ $what == capacity || $what == all ]]; then
  # The capacity axis (#12 B): S1/S2 pairs at three network sizes, 0.056 M, 0.29 M and 0.63 M
  # parameters (widths 6/16/24 x (1, 2, 4)), over N = 10 ... 1000, on 16x16 shapes: a quarter of the
  # 32x32 cost per step, so that the 30 models fit about 2 h on one core. One recipe for all:
  # 1500 steps with a cosine learning-rate decay. N by N, every size at each N (the transition is
  # at small N: an interrupted job has bracketed it for all three sizes first).
  mkdir -p "$out/capacity"
  for n in 10 30 100 300 1000; do
    for widths in 6,12,24 16,32,64 24,48,96; do
      for split in S1 S2; do
        f=$out/capacity/shapes16-w${widths%%,*}-N$n-$split.safetensors
        [[ -f $f ]] || $EXPLORER train diffusion --data shapes --n "$n" --split "$split" --size 16 --steps 1500 \
          --widths "$widths" --blocks 1 --batch 64 --lr 2e-3 --lr-schedule cosine --seed 0 --save-every 250 \
          --name "shapes16-w${widths%%,*}-N$n-$split" --out "$f" \
          --description "capacity axis: 16x16 synthetic geometric images, widths $widths, N=$n, split $split"
      done
    done
  done
  # the capacity curves (the generalise-or-memorise sweep per network size; docs/results/generalisation.md)
  $EXPLORER sweep --folder "$out/capacity" --n 32 --sampler sde --steps 100 --json "$out/capacity/sweep.json"
fi

if [[ $what == cosmic_web || $what == all ]]; then
  # The cosmic web (#29): 64x64 slabs (log density) and, at the seed's dimension, 256x256 (d = 65 536).
  # A Gaussian field of the same P(k), scattering spectra from a handful of fields, plain diffusion.
  cw=(--data cosmic_web --split all)
  [[ -f $out/cosmic-web-gaussian.gauss.safetensors ]] || $EXPLORER train gaussian "${cw[@]}" --n 2000 --size 64 \
    --name cosmic-web-gaussian --out "$out/cosmic-web-gaussian.gauss.safetensors" \
    --description "Gaussian field with the power spectrum of the cosmic web (log density, Zel'dovich slab), 64x64, N=2000"
  # The scattering models match the one-point moments up to <x^4> (--moments 4): log(1 + delta) is skewed, and
  # with <x>, <|x|>, <x^2> alone the fields' histogram TV was 0.036 (excess kurtosis 0.74 against the data's 0.33);
  # 0.023 with them (64x64, the same 256 samples and 1024 fresh fields). At 64x64 from 1024 fields: the mean P(k)
  # of 64 is about 5 % uncertain at k = 2, which the model then reproduces. --spectrum-tolerance 0.2 (below, the 256x256
  # model), paired with the same 256 samples and 1024 fresh fields: P(k) at k = 1, 2 -3.6 %, -4.8 % -> -1.5 %, -4.3 %,
  # TV, bispectrum and trispectrum unchanged; L8: -13.8 %, -3.5 % -> -6.3 %, -7.9 %.
  [[ -f $out/cosmic-web-scattering.scat.safetensors ]] || $EXPLORER train scattering "${cw[@]}" --n 1024 --size 64 \
    --moments 4 --spectrum-tolerance 0.2 --name cosmic-web-scattering \
    --out "$out/cosmic-web-scattering.scat.safetensors" \
    --description "scattering spectra of the cosmic web (log density, Zel'dovich slab), 64x64, moments to x^4, N=1024"
  # L8 (1988 statistics): from 4096 fields with the cap at 0.1. Paired (256 samples, seed 0, 1024 fresh fields, 100
  # iterations): from 1024 fields with a cap of 0.2 its P(k) was -6.3 %, -7.9 % at k = 1, 2 (6.1 % off its own
  # target at k = 1; the 1024 fields' mean 3.2 % below the fresh one at k = 2), with the cap at 0.1 -2.7 %, -5.7 %,
  # from 4096 fields -3.7 %, -4.0 %; TV 0.029, 0.031, 0.031, the bispectrum's worst z 4.0, 4.0, 3.9. Its rms
  # statistics error stays above 0.1 to 400 iterations (0.15 at 100), so its default is the most measured
  [[ -f $out/cosmic-web-scattering-L8.scat.safetensors ]] || $EXPLORER train scattering "${cw[@]}" --n 4096 --size 64 \
    --L 8 --moments 4 --spectrum-tolerance 0.1 --name cosmic-web-scattering-L8 \
    --out "$out/cosmic-web-scattering-L8.scat.safetensors" \
    --description "scattering spectra of the cosmic web (log density, Zel'dovich slab), 64x64, 8 angles, moments to x^4, N=4096"
  mkdir -p "$out/cosmic_web"
  scattering_iterations "$out/cosmic-web-scattering-L8.scat.safetensors" "$out/cosmic_web/iterations64-L8.json"
  # 1024 fields (64 before: their mean P(k) was 6 % below that of 1024 fresh fields at k = 1, and 4 % at k > 100,
  # and the fields of both models reproduced those errors; 8 before that: 15 %). P(k) weighed at least as a
  # statistic of spread 0.2 P(k) (--spectrum-tolerance): with its spread over single fields (53 % at k = 1, a few
  # modes) the generator's fixed point left k = 1 at -4.7 % of the model's own target after 400 iterations, with
  # the cap at -1.3 %, the other statistics' rms error 0.033 against 0.031 (4 fields, seed 0, paired; a cap of
  # 0.1: 0.6 % and 0.046)
  [[ -f $out/cosmic-web256-scattering.scat.safetensors ]] || $EXPLORER train scattering "${cw[@]}" --n 1024 --size 256 \
    --J 7 --L 4 --scale-invariant --moments 4 --spectrum-tolerance 0.2 --name cosmic-web256-scattering \
    --out "$out/cosmic-web256-scattering.scat.safetensors" \
    --description "scattering spectra of the cosmic web (log density, Zel'dovich slab), 256x256, moments to x^4, N=1024"
  [[ -f $out/cosmic-web256-gaussian.gauss.safetensors ]] || $EXPLORER train gaussian "${cw[@]}" --n 1024 --size 256 \
    --name cosmic-web256-gaussian --out "$out/cosmic-web256-gaussian.gauss.safetensors" \
    --description "Gaussian field with the power spectrum of the cosmic web (log density, Zel'dovich slab), 256x256, N=1024"
  scattering_iterations "$out/cosmic-web256-scattering.scat.safetensors" "$out/cosmic_web/iterations256.json"
  [[ -f $out/cosmic_web/data.json ]] || .venv/bin/python tests/benchmarks/bench_cosmic_web.py --n 512 \
    --json "$out/cosmic_web/data.json"
  # at 256 x 256 a scattering run holds 3 fields in explorer's 4 GiB (their statistics with gradients): 64 fields
  # are 22 runs of the model's default iterations (above), about 45 min on one core
  [[ -f $out/cosmic_web/field256.json ]] || $EXPLORER field "$out"/cosmic-web256-gaussian.gauss.safetensors \
    "$out"/cosmic-web256-scattering.scat.safetensors --n 64 --reference fresh --reference-n 1024 \
    --json "$out/cosmic_web/field256.json"
  # what an exact learner of the 1024 training fields would show against 1024 fresh ones (fields reassigned at random)
  [[ -f $out/cosmic_web/bound256.json ]] || .venv/bin/python tests/benchmarks/bench_spectrum_bound.py \
    "$out"/cosmic-web256-scattering.scat.safetensors --fresh 1024 --json "$out/cosmic_web/bound256.json"
  models=("$out"/cosmic-web-gaussian.gauss.safetensors "$out"/cosmic-web-scattering.scat.safetensors
          "$out"/cosmic-web-scattering-L8.scat.safetensors)
  [[ -f $out/cosmic_web/field64.json ]] || $EXPLORER field "${models[@]}" --n 256 --reference fresh --reference-n 1024 \
    --json "$out/cosmic_web/field64.json"
  # the yardstick of their max |dP/P|: an exact learner of each scattering model's training fields against 1024 fresh
  for m in cosmic-web-scattering cosmic-web-scattering-L8; do
    [[ -f $out/cosmic_web/bound64-$m.json ]] || .venv/bin/python tests/benchmarks/bench_spectrum_bound.py \
      "$out/$m.scat.safetensors" --fresh 1024 --json "$out/cosmic_web/bound64-$m.json"
  done
  # plain diffusion, then its row beside the others: a short recipe (batch 32, 1500 steps: about 20 min here
  # on a quiet machine; resumable, --save-every), the turbulence32 networks at 64 x 64
  [[ -f $out/cosmic-web-N2000.safetensors ]] || $EXPLORER train diffusion "${cw[@]}" --n 2000 --size 64 \
    "${common[@]}" --batch 32 --steps 1500 --lr-schedule cosine --name cosmic-web-N2000 --out "$out/cosmic-web-N2000.safetensors" \
    --description "the cosmic web (log density, Zel'dovich slab), 64x64, N=2000"
  # WCRG of the same 2000 fields (#29 item 5): J = 2 (a 16 x 16 coarse model and two conditionals), the widths
  # and recipe of turbulence32-wcrg (fp32, cosine decay, 3000 coarse and 2000 conditional steps), batch 32
  [[ -f $out/cosmic-web-wcrg.wcrg/index.json ]] || $EXPLORER train wcrg "${cw[@]}" --n 2000 --size 64 --steps 3000 \
    --cond-steps 2000 --levels 2 --wavelet haar --widths 32,64 --cond-widths 32,64 --batch 32 --lr 2e-3 \
    --lr-schedule cosine --seed 0 --save-every 250 --name cosmic-web-wcrg --out "$out/cosmic-web-wcrg.wcrg" \
    --description "wavelet RG of the cosmic web (log density, Zel'dovich slab), 64x64, N=2000"
  # the same 1024 fresh fields as field64.json (fresh fields are drawn by a fixed rule)
  [[ -f $out/cosmic_web/field64-diffusion.json ]] || $EXPLORER field "$out"/cosmic-web-N2000.safetensors \
    --n 96 --reference fresh --reference-n 1024 --json "$out/cosmic_web/field64-diffusion.json"
  [[ -f $out/cosmic_web/field64-wcrg.json ]] || $EXPLORER field "$out"/cosmic-web-wcrg.wcrg \
    --n 96 --reference fresh --reference-n 1024 --json "$out/cosmic_web/field64-wcrg.json"
fi

.venv/bin/python -m explorer.core.models.index "$out"

if [[ $what == shapes || $what == all ]]; then
  # the bundled pairs against N (after the index: it lists the pairs; the sweep records its command)
  EXPLORER_CHECKPOINTS=$out $EXPLORER sweep --n 16 --sampler sde --steps 100 --json "$out/sweep.json"
fi
