"""A tiny langid-gnu folder for the text tests (a module with a unique name: importable from any test)."""
import csv
import gzip
import random

DE = "der die das und nicht ist ein eine Datei wurde gefunden kann werden Verzeichnis".split()
FR = "le la les et ne pas est un une fichier introuvable peut être répertoire".split()


def write_langid(folder, n_train=60, n_test=20, seed=0):
    """A tiny langid-gnu folder: German and French word salads (the other 12 languages absent)."""
    rng = random.Random(seed)
    for split, n in (("train", n_train), ("test", n_test)):
        with gzip.open(folder / f"{split}.tsv.gz", "wt", encoding="utf-8", newline="") as f:
            w = csv.writer(f, delimiter="\t")
            w.writerow(["language", "source", "text"])
            for lang, words in (("de", DE), ("fr", FR)):
                for _ in range(n):
                    w.writerow([lang, f"prog-{split}", " ".join(rng.choice(words) for _ in range(rng.randint(3, 9)))])
    return folder
