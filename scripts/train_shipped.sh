#!/usr/bin/env bash
# Reproduce one shipped model bundle with one command:
#   bash scripts/train_shipped.sh mnist-2d|mnist-2d-course|mnist-16d|fashion-mnist-2d|mnist-2d-beta0|mnist-2d-beta1|mnist-2d-beta5 [DATA_DIR]
# DATA_DIR holds the MNIST IDX files (default: ../shared/data/mnist beside the repo). Bundles go to models/
# (OUT_ROOT=folder to write them elsewhere first). Every training records its replay (replay.npz).
# Fashion-MNIST comes from Debian's dataset-fashion-mnist package (or Keras' downloader).
set -euo pipefail
cd "$(dirname "$0")/.."
name=${1:?usage: train_shipped.sh NAME [DATA_DIR]}
mnist=${2:-../shared/data/mnist}
threads=${THREADS:-1}
out=${OUT_ROOT:-models}
common=(--threads "$threads" --learning-rate 1e-3 --seed 0)
# The two quality models: small batches (more updates per epoch) and saved EMA weights (Polyak averaging);
# the 2-D one also drops out 15% after its 512-unit Dense layers, which otherwise memorise 20,000 images,
# and saves the average of its (EMA) weights over the last 20 epochs (stochastic weight averaging).
# Both are then trained in a second stage: their decoder is kept, frozen, and a new, deeper encoder is
# trained for it (--encoder deep --decoder-from STAGE1), which carries over to test images much better.
# Stage 1 goes to a hidden folder (models/.NAME-stage1, git-ignored); only the final bundle is shipped.
case "$name" in
  mnist-2d)
    stage1="models/.$name-stage1"
    python -m vae train --dataset mnist --data-dir "$mnist" --preset default --latent-dim 2 --epochs 45 --batch-size 32 --dropout 0.15 --ema --average-last 20 \
      --name "MNIST, 2-D latent: stage 1 (encoder and decoder)" "${common[@]}" --out "$stage1"
    python -m vae train --dataset mnist --data-dir "$mnist" --preset default --encoder deep --latent-dim 2 --epochs 20 --batch-size 32 --decoder-from "$stage1" \
      --name "MNIST, 2-D latent (default preset)" \
      --description "The app's default model: a convolutional VAE with a 2-D latent space, so every digit's z_mean and z_std can be drawn as they are." "${common[@]}" --out "$out/$name" ;;
  mnist-2d-course)
    python -m vae train --dataset mnist --data-dir "$mnist" --preset course --latent-dim 2 --epochs 15 --batch-size 128 \
      --name "MNIST, 2-D latent (the course's VAE)" \
      --description "The course's VAE layer for layer (Conv32-BN-Conv64-BN-Dense20-BN, two Dense heads); its 'sigma' head is a log-variance, named z_log_var here." "${common[@]}" --out "$out/$name" ;;
  mnist-16d)
    stage1="models/.$name-stage1"
    python -m vae train --dataset mnist --data-dir "$mnist" --preset default --latent-dim 16 --epochs 40 --batch-size 16 --ema \
      --name "MNIST, 16-D latent: stage 1 (encoder and decoder)" "${common[@]}" --out "$stage1"
    python -m vae train --dataset mnist --data-dir "$mnist" --preset default --encoder deep --latent-dim 16 --epochs 20 --batch-size 32 --decoder-from "$stage1" \
      --name "MNIST, 16-D latent (default preset)" \
      --description "A 16-D latent space: sharper reconstructions; the app shows it through PCA and t-SNE." "${common[@]}" --out "$out/$name" ;;
  fashion-mnist-2d)
    python -m vae train --dataset fashion_mnist --preset default --latent-dim 2 --epochs 6 --batch-size 128 \
      --name "Fashion-MNIST, 2-D latent (default preset)" \
      --description "Clothing instead of digits: the same model on Fashion-MNIST's 60,000 training images." "${common[@]}" --out "$out/$name" ;;
  # Three small contrasting models for the Compare page: what beta does. Same model, same recipe, same 10 epochs.
  mnist-2d-beta0)
    python -m vae train --dataset mnist --data-dir "$mnist" --preset default --latent-dim 2 --epochs 10 --batch-size 128 --beta 0 \
      --name "MNIST, 2-D, β = 0 (no KL term)" \
      --description "Trained without the KL term: nothing stops z_std from shrinking, so the clouds shrink to points and the codes spread far past the prior N(0, I): its draws reach only the digits near the origin." "${common[@]}" --out "$out/$name" ;;
  mnist-2d-beta1)
    python -m vae train --dataset mnist --data-dir "$mnist" --preset default --latent-dim 2 --epochs 10 --batch-size 128 --beta 1 \
      --name "MNIST, 2-D, β = 1 (the ELBO)" \
      --description "The plain ELBO (β = 1), trained with exactly the recipe of its β = 0 and β = 5 siblings: the KL term keeps every cloud near N(0, I) without crushing the reconstruction." "${common[@]}" --out "$out/$name" ;;
  mnist-2d-beta5)
    python -m vae train --dataset mnist --data-dir "$mnist" --preset default --latent-dim 2 --epochs 10 --batch-size 128 --beta 5 \
      --name "MNIST, 2-D, β = 5 (a heavy KL term)" \
      --description "The KL term weighs five times as much: every cloud is pulled hard towards N(0, I), so the clouds overlap and the decodes blur." "${common[@]}" --out "$out/$name" ;;
  *) echo "unknown model '$name'" >&2; exit 2 ;;
esac
