/**
 * The alarms an operator needs: the deliverability thresholds of docs/compliance.md (the SES events
 * function publishes the Sixback metrics as EMF log lines), SES's own account reputation, which is what
 * SES reviews accounts on, and campaigns that fail. They show in the CloudWatch console; add an action
 * (an SNS topic to your pager or mailbox) to be told.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';

export interface MonitoringProps {
  stateMachine: sfn.StateMachine;
}

const FIVE_MINUTES = Duration.minutes(5);

export class Monitoring extends Construct {
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const sixback = (metricName: string, statistic: string) =>
      new cloudwatch.Metric({
        namespace: 'Sixback',
        metricName,
        dimensionsMap: { Service: 'sixback' },
        statistic,
        period: FIVE_MINUTES,
      });
    const ses = (metricName: string) =>
      new cloudwatch.Metric({ namespace: 'AWS/SES', metricName, statistic: 'Maximum', period: FIVE_MINUTES });

    this.alarm('CampaignComplaintRate', sixback('CampaignComplaintRate', 'Maximum'), 0.1, {
      description: 'A campaign has complaints above 0.1% of its emails: stop it and review the list.',
    });
    this.alarm('CampaignBounceRate', sixback('CampaignBounceRate', 'Maximum'), 5, {
      description: 'A campaign has permanent bounces above 5%: the list is stale.',
    });
    this.alarm('CampaignAlarmRaised', sixback('CampaignAlarmRaised', 'Sum'), 1, {
      description: 'A campaign crossed a deliverability threshold (see its status, deliverability.alarms).',
      comparison: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    });
    this.alarm('SesReputationComplaintRate', ses('Reputation.ComplaintRate'), 0.001, {
      description: "The account's SES complaint rate is above 0.1%: SES reviews accounts from here.",
    });
    this.alarm('SesReputationBounceRate', ses('Reputation.BounceRate'), 0.05, {
      description: "The account's SES bounce rate is above 5%: SES reviews accounts from here.",
    });
    this.alarm('CampaignExecutionsFailed', props.stateMachine.metricFailed({ period: FIVE_MINUTES }), 1, {
      description: 'A campaign execution failed: its status says why, its report accounts for every row.',
      comparison: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    });
  }

  private alarm(
    id: string,
    metric: cloudwatch.IMetric,
    threshold: number,
    options: { description: string; comparison?: cloudwatch.ComparisonOperator },
  ): void {
    this.alarms.push(
      new cloudwatch.Alarm(this, id, {
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: options.comparison ?? cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        // No data means no campaign is running, which is not a problem.
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: options.description,
      }),
    );
  }
}
