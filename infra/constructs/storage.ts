/**
 * Where sixback keeps things: one private bucket (uploaded recipients, prepared files, Map results,
 * reports, images) and the four DynamoDB tables, declared from core/aws/tables.ts so the local stack and
 * AWS cannot disagree on a key.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { TABLES, type TableName, type TableShape } from '../../core/aws/tables.ts';
import { keys } from '../../core/config.ts';
import { acknowledge } from '../nag.ts';

/** Everything a campaign writes lives under this prefix (core/config.ts `keys.campaignPrefix`). */
export const CAMPAIGNS_PREFIX = keys.campaignPrefix('').replace(/\/+$/, '/');

export interface StorageProps {
  retainData: boolean;
  uploadRetentionDays: number;
  /** 0 keeps campaign files for good. */
  campaignFileRetentionDays: number;
}

export class Storage extends Construct {
  readonly bucket: s3.Bucket;
  readonly tables: Record<TableName, dynamodb.Table>;

  constructor(scope: Construct, id: string, props: StorageProps) {
    super(scope, id);
    const removalPolicy = props.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    const accessLogs = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ id: 'expire-access-logs', expiration: Duration.days(365) }],
      removalPolicy,
    });
    acknowledge(accessLogs, [
      {
        id: 'AwsSolutions-S1',
        reason: 'This is the server access log bucket itself; logging it would log its own log deliveries.',
      },
    ]);

    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: 'data-bucket/',
      // Browsers upload recipients and images straight to S3 with a presigned POST (core/recipients/uploads.ts).
      cors: [
        {
          allowedMethods: [s3.HttpMethods.POST],
          allowedOrigins: ['*'],
          allowedHeaders: ['*'],
        },
      ],
      lifecycleRules: [
        {
          id: 'expire-old-uploads',
          prefix: keys.recipientsUploadPrefix,
          expiration: Duration.days(props.uploadRetentionDays),
        },
        // Uploads the presigned POST or ResultWriter started and never finished.
        { id: 'abort-incomplete-multipart', abortIncompleteMultipartUploadAfter: Duration.days(7) },
        ...(props.campaignFileRetentionDays > 0
          ? [
              {
                id: 'expire-campaign-files',
                prefix: CAMPAIGNS_PREFIX,
                expiration: Duration.days(props.campaignFileRetentionDays),
              },
            ]
          : []),
        // images/ has no expiry on purpose: emails already sent keep pointing at those images for years.
      ],
      removalPolicy,
    });

    this.tables = {
      templates: this.table('Templates', TABLES.templates, removalPolicy),
      campaigns: this.table('Campaigns', TABLES.campaigns, removalPolicy),
      ledger: this.table('Ledger', TABLES.ledger, removalPolicy),
      suppression: this.table('Suppression', TABLES.suppression, removalPolicy),
    };
  }

  private table(id: string, shape: TableShape, removalPolicy: RemovalPolicy): dynamodb.Table {
    const table = new dynamodb.Table(this, id, {
      partitionKey: { name: shape.partitionKey, type: dynamodb.AttributeType.STRING },
      ...(shape.sortKey
        ? {
            sortKey: {
              name: shape.sortKey.name,
              type:
                shape.sortKey.type === 'N' ? dynamodb.AttributeType.NUMBER : dynamodb.AttributeType.STRING,
            },
          }
        : {}),
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      removalPolicy,
    });
    for (const index of shape.indexes ?? []) {
      table.addGlobalSecondaryIndex({
        indexName: index.name,
        partitionKey: { name: index.partitionKey, type: dynamodb.AttributeType.STRING },
        sortKey: { name: index.sortKey, type: dynamodb.AttributeType.STRING },
      });
    }
    return table;
  }
}
