"""Segment members keyed by (segment, customer) alone: no surrogate id, no foreign-key checks, one index.

Django cannot turn an existing table's primary key into a composite one, so the table is rebuilt: the old one is
renamed aside, the new one created, the stored members copied over (plain SQL, both databases), the old one dropped.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("users", "0004_coupons"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="segmentmember", name="segment_member_unique"),
        migrations.RenameModel(old_name="SegmentMember", new_name="SegmentMemberOld"),
        migrations.AlterField(
            model_name="segmentmemberold", name="segment",
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+",
                                    to="users.segment"),
        ),
        migrations.CreateModel(
            name="SegmentMember",
            fields=[
                ("pk", models.CompositePrimaryKey("segment_id", "customer_id", blank=True, editable=False,
                                                  primary_key=True, serialize=False)),
                ("segment", models.ForeignKey(db_constraint=False, db_index=False,
                                              on_delete=django.db.models.deletion.CASCADE, related_name="members",
                                              to="users.segment")),
                ("customer", models.ForeignKey(db_constraint=False, db_index=False,
                                               on_delete=django.db.models.deletion.DO_NOTHING, related_name="+",
                                               to="users.customer")),
            ],
        ),
        migrations.RunSQL(
            "INSERT INTO users_segmentmember (segment_id, customer_id) "
            "SELECT segment_id, customer_id FROM users_segmentmemberold",
            # back to 0004: the members go back into the old table before the new one is dropped
            reverse_sql="INSERT INTO users_segmentmemberold (segment_id, customer_id) "
                        "SELECT segment_id, customer_id FROM users_segmentmember",
        ),
        migrations.DeleteModel(name="SegmentMemberOld"),
    ]
