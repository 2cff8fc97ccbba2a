from datetime import timedelta
from tests.conftest import make_customer, make_order

async def test_smoke(services):
    now = services.clock()
    cs = []
    for i in range(12):
        c = await make_customer(services)
        cs.append(c)
        for k in range(i % 4 + 1):
            await make_order(services, c, placed_at=now - timedelta(days=5 + 30 * k + i), margin=100_000 * (i + 1), amount=500_000*(i+1))
    s = await services.segmentation.recompute(progress=lambda *a: print(a))
    print(s)
    c = cs[0]
    await make_order(services, c, placed_at=now - timedelta(days=1), margin=10_000_000)
    print(await services.segmentation.reclassify_customer(c.id))
    s = await services.segmentation.recompute()
    print(s.tier_changes, s.segment_changes)
