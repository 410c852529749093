from __future__ import annotations

import gzip
import json

import pytest

from synthscape_healthcare.ontology import Ontology, UnknownCodeError


def test_level_carrying_ids_keep_block_and_category_apart(icd):
    assert icd.node("B10") == "category:B10"
    assert icd.node("block:B10") == "block:B10"
    assert icd.parents("category:B10") == ["block:B10"]
    assert icd.parents("block:B10") == ["chapter:1"]
    assert not any(a == b for a, b in icd.graph.edges)


def test_ancestors_depth_and_roll_up(icd):
    assert icd.ancestors("I21.01") == ["subcategory:I21.0", "category:I21", "block:I20-I25",
                                       "chapter:9"]
    assert icd.depth("chapter:9") == 1 and icd.depth("I21") == 3 and icd.depth("I21.01") == 5
    assert icd.roll_up("I2101", "category") == "category:I21"
    assert icd.roll_up("I21.01", "block") == "block:I20-I25"
    assert icd.roll_up("S72.001A", "chapter") == "chapter:19"
    assert icd.level("S72.001A") == "extension"
    assert icd.roll_up("I21", "subcategory") == "category:I21"  # already above


def test_descendants_and_nearest_common_ancestor(icd):
    desc = icd.descendants("I21")
    assert "subcategory:I21.01" in desc and "category:I21" not in desc
    assert icd.descendants("I21", include_self=True) >= desc | {"category:I21"}
    assert icd.nearest_common_ancestor("I21.0", "I25.10") == "block:I20-I25"
    assert icd.nearest_common_ancestor("I21.0", "E11.9") == "root:ICD-10-CM"
    assert icd.is_descendant("I21.4", "I21") and not icd.is_descendant("I25.10", "I21")
    assert icd.description("I21") == "Acute myocardial infarction"


def test_validation_suggests_close_codes(icd):
    assert icd.validate(["I21", "e11.9"]) == ["category:I21", "subcategory:E11.9"]
    with pytest.raises(UnknownCodeError) as err:
        icd.validate(["I21", "I2l.0", "XYZ99"], source="conditions.CODE")
    msg = str(err.value)
    assert "2 unknown code(s) in conditions.CODE" in msg
    assert "did you mean 'I21.0'" in msg and "'XYZ99'" in msg
    assert "I21" in icd and "XYZ99" not in icd


def test_cache_is_gzipped_json_and_round_trips(icd, tmp_path):
    from synthscape_healthcare.icd10cm import read_cache, write_cache

    path = write_cache(icd, tmp_path / "icd.json.gz")
    with gzip.open(path) as f:
        data = json.loads(f.read())
    assert data["format"] == 1 and len(data["nodes"]) == len(icd)
    back = read_cache(path)
    assert back.ancestors("I21.01") == icd.ancestors("I21.01")
    assert back.graph.number_of_edges() == icd.graph.number_of_edges()


def test_corrupt_cache_is_rebuilt(tmp_path, monkeypatch):
    pytest.importorskip("simple_icd_10_cm")
    from synthscape.errors import ModelFormatError
    from synthscape_healthcare import icd10cm

    bad = tmp_path / f"icd10cm-{icd10cm._package_version()}.json.gz"
    bad.write_bytes(b"not gzip")
    with pytest.raises(ModelFormatError, match="delete it to rebuild"):
        icd10cm.read_cache(bad)
    monkeypatch.setenv("SYNTHSCAPE_CACHE", str(tmp_path))
    assert icd10cm.cache_dir() == tmp_path


def test_edge_list_loader_dag_and_errors(tmp_path):
    f = tmp_path / "snomed_extract.tsv"
    f.write_text("parent\tchild\tdescription\n"
                 "disease\theart_disease\tHeart disease\n"
                 "heart_disease\tmi\tMyocardial infarction\n"
                 "ischemia\tmi\t\n"
                 "disease\tischemia\tIschemia\n")
    onto = Ontology.from_edge_list(f)
    assert onto.name == "snomed_extract"
    assert set(onto.parents("mi")) == {"concept:heart_disease", "concept:ischemia"}
    assert onto.depth("mi") == 3 and onto.description("mi") == "Myocardial infarction"
    assert onto.nearest_common_ancestor("mi", "ischemia") == "concept:ischemia"
    assert onto.roll_up("mi", 1) == "concept:disease"
    bad = tmp_path / "bad.csv"
    bad.write_text("from,to\na,b\n")
    from synthscape.errors import SchemaError

    with pytest.raises(SchemaError, match="'parent' and 'child'"):
        Ontology.from_edge_list(bad)
    cyc = tmp_path / "cycle.csv"
    cyc.write_text("parent,child\nroot,a\na,b\nb,a\n")
    with pytest.raises(SchemaError, match="cycle"):
        Ontology.from_edge_list(cyc)
    with pytest.raises(SchemaError, match="does not exist"):
        Ontology.from_edge_list(tmp_path / "missing.csv")


def test_snomed_semantic_tags():
    from synthscape_healthcare.snomed import semantic_tag, semantic_tag_ontology

    assert semantic_tag("Hypertension (disorder)") == "disorder"
    assert semantic_tag("Body mass index 30+ - obesity (finding)") == "finding"
    assert semantic_tag("Perennial allergic rhinitis") == "untagged"
    onto = semantic_tag_ontology([("38341003", "Hypertension (disorder)"),
                                  ("162864005", "Body mass index 30+ - obesity (finding)"),
                                  ("59621000", "Essential hypertension (disorder)")])
    assert onto.parents("38341003") == ["tag:disorder"]
    assert onto.nearest_common_ancestor("38341003", "59621000") == "tag:disorder"
    assert len(onto.descendants("tag:disorder")) == 2
