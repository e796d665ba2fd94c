from django.db import models


class Ruleset(models.Model):
    name = models.CharField(max_length=100, unique=True)

    def __str__(self):
        return self.name


class Log(models.Model):
    ruleset = models.ForeignKey(Ruleset, on_delete=models.CASCADE)
    input_data = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"log {self.pk}"
