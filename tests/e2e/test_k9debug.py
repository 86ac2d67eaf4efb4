from tests.e2e.test_processes import *  # noqa
from tests.e2e.test_processes import _pending_deliveries

async def test_k9(database_url, engine, receiver, tmp_path):
    await create_subscription(engine, receiver.url)
    server = await asyncio.to_thread(Server, env_for(database_url), tmp_path, "--no-worker")
    results = [await simulate(f"{server.url}{MESSAGES}", "--body", f"m{i}") for i in range(10)]
    server.kill(); server.close()
    restarted = await asyncio.to_thread(Server, env_for(database_url, SWITCHBOARD_LOG_LEVEL="DEBUG"), tmp_path)
    try:
        await receiver.wait_for(10, timeout=20)
    finally:
        restarted.terminate()
        restarted.close()
    rows = await delivery_rows(engine)
    if {r["status"] for r in rows} != {"succeeded"}:
        print(restarted.log()[-20000:])
        print([ (r["id"], r["status"], r["locked_by"], r["attempt_count"]) for r in rows])
        raise AssertionError("pending")
