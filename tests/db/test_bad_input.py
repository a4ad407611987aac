"""Bad input at the data layer: a clear error, and nothing written."""

import pytest

from db import dnd, tasks
from db.errors import InvalidInput, NotFound
from db.tasks import TaskDraft, TaskMove


async def _task_count(pool, user_id):
    return await pool.fetchval("SELECT count(*) FROM tasks WHERE user_id = $1", user_id)


@pytest.mark.parametrize(
    ("number", "field_message"),
    [
        ("12", "not a phone number"),
        ("+1 555 01", "not a valid phone number"),
        ("call me maybe", "not a phone number"),
        ("", "a phone number is required"),
    ],
)
async def test_rejected_phone_number(pool, make_user, number, field_message):
    user = await make_user()
    with pytest.raises(InvalidInput) as err:
        await tasks.create_task(pool, user.id, TaskDraft(phone_number=number, objective="Book a table"))
    assert err.value.field == "phone_number"
    assert field_message in err.value.message
    assert await _task_count(pool, user.id) == 0


async def test_national_number_needs_a_region(pool, make_user):
    user = await make_user()
    with pytest.raises(InvalidInput, match=r"start it with \+"):
        await tasks.create_task(pool, user.id, TaskDraft(phone_number="030 1234567", objective="x"))
    task = await tasks.create_task(
        pool, user.id, TaskDraft(phone_number="030 1234567", objective="x"), default_region="DE"
    )
    assert task.phone_number == "+49301234567"


async def test_over_long_text(pool, make_user):
    user = await make_user()
    with pytest.raises(InvalidInput) as err:
        await tasks.create_task(pool, user.id, TaskDraft(phone_number="+14155550123", objective="x" * 4001))
    assert err.value.field == "objective"
    assert "4001 characters" in str(err.value)
    assert await _task_count(pool, user.id) == 0


async def test_empty_objective(pool, make_user):
    user = await make_user()
    with pytest.raises(InvalidInput, match="objective: must not be empty"):
        await tasks.create_task(pool, user.id, TaskDraft(phone_number="+14155550123", objective="   "))


async def test_unknown_status(pool, make_user):
    user = await make_user()
    task = await tasks.create_task(pool, user.id, TaskDraft(phone_number="+14155550123", objective="x"))
    with pytest.raises(InvalidInput, match="'on_hold' is not a task status"):
        await tasks.transition_task(pool, user.id, task.id, TaskMove(expected="draft", to="on_hold", why="hold it"))
    with pytest.raises(InvalidInput):
        await tasks.list_tasks(pool, user.id, status="on_hold")
    assert (await tasks.get_task(pool, user.id, task.id)).status == "draft"
    events = await pool.fetchval("SELECT count(*) FROM task_events WHERE task_id = $1", task.id)
    assert events == 1  # only "created"


async def test_out_of_range_numbers(pool, make_user):
    user = await make_user()
    with pytest.raises(InvalidInput, match="max_attempts"):
        await tasks.create_task(
            pool, user.id, TaskDraft(phone_number="+14155550123", objective="x", max_attempts=0)
        )
    with pytest.raises(InvalidInput, match="priority"):
        await tasks.create_task(pool, user.id, TaskDraft(phone_number="+14155550123", objective="x", priority=500))
    assert await _task_count(pool, user.id) == 0


async def test_bad_dnd_number(pool, make_user):
    user = await make_user()
    with pytest.raises(InvalidInput):
        await dnd.add_number(pool, user.id, "not a number")
    assert await dnd.list_numbers(pool, user.id) == []


async def test_task_in_someone_elses_campaign_is_refused(pool, make_user):
    from db import campaigns

    alice, bob = await make_user(), await make_user()
    campaign = await campaigns.create_campaign(pool, alice.id, title="Dentist")
    with pytest.raises(NotFound):
        await tasks.create_task(
            pool, bob.id, TaskDraft(phone_number="+14155550123", objective="x"), campaign_id=campaign.id
        )
    assert await _task_count(pool, bob.id) == 0
