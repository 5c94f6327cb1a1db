"""axe-core in the browser tests: a page passes when axe finds no serious or critical violation."""

from axe_playwright_python.sync_playwright import Axe


def serious(results) -> list[dict]:
    return [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]


def check_axe(page, name):
    results = Axe().run(page)
    problems = serious(results)
    if problems:
        print(f"\n=== axe : {name} ===")
        for violation in problems:
            print(f"- {violation['id']} ({violation['impact']}) : {violation['help']}")
            for node in violation["nodes"][:5]:
                print(f"    {node['target']} : {node.get('failureSummary', '')[:300]}")
    assert not problems, f"{name} : " + ", ".join(v["id"] for v in problems)
